// tests/integration/console.js: drives Debian's chromium (headless, via
// puppeteer-core, JavaScript off in the page) through the web console as a
// security team would: a page without a session lands on the login form;
// log in with the admin token (the session cookie is HttpOnly and
// SameSite=Strict); filter to blocked; open the blocked decision; the
// policy page; approve the blocked decision (a waiver) from its page as
// the name given at login and see it on the waivers page, then revoke it;
// a POST without the CSRF token is refused (403) and changes nothing
// (logout, approve); log out.  No request may leave the admin listener (no CDN).
// A screenshot of each page goes to OUT.
// Usage: node console.js ADMIN_URL TOKEN BLOCKED_ID BLOCKED_PKG ALLOWED_PKG OUT
"use strict";
const path = require("path");
const puppeteer = require("puppeteer-core");

const [base, token, blockedId, blockedPkg, allowedPkg, out] =
    process.argv.slice(2);
const ui = base + "/-/pubgate/ui";
let step = "start";

function fail(msg) {
	throw new Error(step + ": " + msg);
}

function expect(cond, msg) {
	if (!cond)
		fail(msg);
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(out, name + ".png"),
	    fullPage: true });
	console.log("console: screenshot " + name + ".png");
}

// newPage() : a page with JavaScript off that records every request that
// is not for the admin listener (and refuses it).
async function newPage(ctx, foreign) {
	const page = await ctx.newPage();
	await page.setJavaScriptEnabled(false);
	await page.setViewport({ width: 1200, height: 800 });
	await page.setRequestInterception(true);
	page.on("request", (r) => {
		if (r.url().startsWith(base + "/"))
			r.continue();
		else {
			foreign.push(r.url());
			r.abort();
		}
	});
	return page;
}

async function main() {
	const foreign = [];
	const browser = await puppeteer.launch({
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		headless: true,
		// Root in CI: chromium's sandbox needs user namespaces.
		args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		    "--no-first-run", "--no-default-browser-check"],
	});
	try {
		const ctx = browser.defaultBrowserContext();
		const page = await newPage(ctx, foreign);

		step = "no session";
		await page.goto(ui + "/", { waitUntil: "load" });
		expect(page.url() === ui + "/login", "not sent to the login " +
		    "form: " + page.url());
		expect(await page.$("input[name=token][type=password]") !== null,
		    "no token field");
		await shot(page, "1-login");

		step = "wrong token";
		await page.type("input[name=token]", "not-the-token-0123456789");
		await Promise.all([page.waitForNavigation(),
		    page.click("button[type=submit]")]);
		expect((await page.content()).includes("wrong token"),
		    "no error for a wrong token");
		expect(!(await page.cookies()).some((c) =>
		    c.name === "pubgate_session"), "a session for a wrong token");

		step = "login";
		await page.type("input[name=token]", token);
		await page.type("input[name=name]", "reviewer1");
		await Promise.all([page.waitForNavigation(),
		    page.click("form[action$='/login'] button[type=submit]")]);
		expect(page.url() === ui + "/", "not on the list: " + page.url());
		const cookies = await page.cookies();
		const sess = cookies.find((c) => c.name === "pubgate_session");
		expect(sess !== undefined, "no session cookie");
		expect(sess.httpOnly === true, "session cookie not HttpOnly");
		expect(sess.sameSite === "Strict", "session cookie SameSite " +
		    sess.sameSite);
		expect(/^[0-9a-f]{32}$/.test(sess.value), "session id " +
		    sess.value.length + " chars");
		expect(!cookies.some((c) => c.value.includes(token)),
		    "the token in a cookie");
		let text = await page.$eval("main", (m) => m.textContent);
		expect(text.includes(blockedPkg) && text.includes(allowedPkg),
		    "the list lacks the two publishes");
		await shot(page, "2-decisions");

		step = "filter blocked";
		await page.click("input[name=blocked]");
		await Promise.all([page.waitForNavigation(),
		    page.click("form.filters button[type=submit]")]);
		expect(new URL(page.url()).searchParams.get("blocked") === "1",
		    "the filter is not in the URL: " + page.url());
		const verdicts = await page.$$eval("tbody tr td:nth-child(2)",
		    (tds) => tds.map((td) => td.textContent));
		expect(verdicts.length >= 1 && verdicts.every((v) =>
		    v === "block"), "blocked list: " + JSON.stringify(verdicts));
		text = await page.$eval("main", (m) => m.textContent);
		expect(text.includes(blockedPkg) && !text.includes(allowedPkg),
		    "the blocked filter shows the wrong packages");
		await shot(page, "3-blocked");

		step = "open decision";
		await Promise.all([page.waitForNavigation(),
		    page.click("tbody tr a")]);
		expect(page.url() === ui + "/decision?id=" +
		    encodeURIComponent(blockedId), "decision URL " + page.url());
		text = await page.$eval("main", (m) => m.textContent);
		expect(text.includes(blockedId), "the page lacks the id");
		expect(text.includes(blockedPkg), "the page lacks the package");
		expect(/sourcemap\.[a-z-]+/.test(text), "the page lacks the " +
		    "reason");
		expect(/127\.0\.0\.1:\d+/.test(text), "the page lacks the client");
		expect(/[0-9a-f]{128}/.test(text), "the page lacks the sha512");
		await shot(page, "4-decision");

		step = "policy";
		await Promise.all([page.waitForNavigation(),
		    page.click("header a[href$='/policy']")]);
		text = await page.$eval("#check", (e) => e.textContent);
		expect(/^policy OK \(\d+ rules\); it is the policy in force/.test(
		    text), "policy check: " + text);
		await shot(page, "5-policy");

		step = "approve without csrf";
		const cookie = "pubgate_session=" + sess.value;
		let r = await fetch(ui + "/approve", { method: "POST",
		    redirect: "manual", headers: { cookie,
		    "content-type": "application/x-www-form-urlencoded" },
		    body: "decision=" + encodeURIComponent(blockedId) +
		    "&reason=forged" });
		expect(r.status === 403, "approve without csrf: " + r.status);
		r = await fetch(ui + "/waivers", { headers: { cookie } });
		expect(!(await r.text()).includes("forged"),
		    "a forged approval made a waiver");

		step = "approve";
		await page.goto(ui + "/decision?id=" +
		    encodeURIComponent(blockedId), { waitUntil: "load" });
		expect(await page.$("form[action$='/approve'] input[name=csrf]")
		    !== null, "no approve form with a CSRF token");
		text = await page.$eval("main", (m) => m.textContent);
		expect(text.includes("You approve as reviewer1"),
		    "the page does not name the reviewer");
		await page.type("form[action$='/approve'] input[name=reason]",
		    "sources are public anyway (SEC-7)");
		await shot(page, "7-approve");
		await Promise.all([page.waitForNavigation(),
		    page.click("form[action$='/approve'] button[type=submit]")]);
		expect(page.url() === ui + "/waivers", "after approve: " +
		    page.url());
		const row = await page.$eval("tbody tr", (tr) => tr.textContent);
		expect(row.includes("active") && row.includes(blockedPkg) &&
		    row.includes(blockedId) && row.includes("reviewer1") &&
		    row.includes("SEC-7") && row.includes("once"),
		    "the waiver row: " + row);
		await shot(page, "8-waivers");

		step = "revoke";
		await page.type("form[action$='/revoke'] input[name=reason]",
		    "changed my mind");
		await Promise.all([page.waitForNavigation(),
		    page.click("form[action$='/revoke'] button[type=submit]")]);
		const row2 = await page.$eval("tbody tr", (tr) => tr.textContent);
		expect(row2.includes("revoked by reviewer1"),
		    "the revoked row: " + row2);
		expect(await page.$("form[action$='/revoke']") === null,
		    "a revoke form on a revoked waiver");
		await shot(page, "9-revoked");

		step = "csrf";
		// A POST without the form's CSRF token, with the session
		// cookie (as a forged form would bring it): refused.
		r = await fetch(ui + "/logout", { method: "POST",
		    redirect: "manual", headers: { cookie,
		    "content-type": "application/x-www-form-urlencoded" },
		    body: "" });
		expect(r.status === 403, "logout without csrf: " + r.status);
		r = await fetch(ui + "/logout", { method: "POST",
		    redirect: "manual", headers: { cookie,
		    "content-type": "application/x-www-form-urlencoded" },
		    body: "csrf=" + "0".repeat(32) });
		expect(r.status === 403, "logout with a wrong csrf: " + r.status);
		r = await fetch(ui + "/", { redirect: "manual",
		    headers: { cookie } });
		expect(r.status === 200, "the session did not survive: " +
		    r.status);
		const csp = r.headers.get("content-security-policy") || "";
		expect(csp.includes("default-src 'none'"), "CSP: " + csp);
		await page.reload({ waitUntil: "load" });
		await shot(page, "6-after-refused-post");

		step = "other browser";
		const other = await browser.createBrowserContext();
		const p2 = await newPage(other, foreign);
		await p2.goto(ui + "/decision?id=" + encodeURIComponent(blockedId),
		    { waitUntil: "load" });
		expect(p2.url() === ui + "/login", "a decision without a " +
		    "session: " + p2.url());
		await other.close();

		step = "logout";
		await Promise.all([page.waitForNavigation(),
		    page.click("header form button[type=submit]")]);
		expect(page.url() === ui + "/login", "after logout: " +
		    page.url());
		r = await fetch(ui + "/", { redirect: "manual",
		    headers: { cookie } });
		expect(r.status === 303, "the session outlived the logout: " +
		    r.status);

		step = "network";
		expect(foreign.length === 0, "requests outside the admin " +
		    "listener: " + foreign.join(" "));
	} finally {
		await browser.close();
	}
	console.log("console: all steps passed");
}

main().catch((e) => {
	console.error("console: " + (e && e.stack ? e.stack : e));
	process.exit(1);
});
