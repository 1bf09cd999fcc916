/*
 * proxy/cmd/help.c: the help of every subcommand, in one table: what
 * `pubgate CMD --help` and `pubgate help CMD` print, and the source of the
 * pubgate(1) man page (`pubgate help --man` writes it as roff; meson runs
 * that at build time, so the page and the binary never disagree).
 * tests/cli/cli.sh checks that every subcommand answers --help with its
 * description, and that each option of the table is in the completions.
 */
#include <stdio.h>
#include <string.h>

#include "help.h"

struct help_opt {
	const char	*flag;		/* "-p, --policy FILE" */
	const char	*text;
};

struct help_cmd {
	const char		*name;
	const char		*usage;	/* one line or more, without "usage: " */
	const char		*desc;	/* paragraphs, '\n'-separated */
	const struct help_opt	 opts[20];
	const char		*examples[6];
};

static const struct help_cmd cmds[] = {
{
	"scan",
	"pubgate scan [-p policy.yaml] [--name NAME] [--previous PREV.tgz]\n"
	"             [--json | --reading | --list | --format text|json|sarif] "
	    "DIR|FILE...",
	"Judges packages offline, with the same policy engine the gate uses.\n"
	"Each argument is a package folder, a .tgz written by `npm pack` or a\n"
	"captured publish body (the JSON npm sends).  A folder is judged as\n"
	"npm pack would pack it (package.json \"files\", .npmignore, the\n"
	".gitignore fallback, nested ignore files, the files npm always adds\n"
	"or leaves out), without writing a tarball; a folder whose listing\n"
	"might differ from npm's (bundleDependencies, workspaces, brace or\n"
	"class globs, names outside printable ASCII) is refused, naming why.\n"
	"Without --name the rule is the one matching the package's own name\n"
	"(package.json in the folder or tarball, the body's name).\n"
	"Prints ALLOW or BLOCK per argument, and every reason of a block with\n"
	"its file and fix.  A file that is neither (a package.json, a README)\n"
	"is an error.  Exit 0: every package allowed; 1: one was blocked; 2:\n"
	"an error (one line on stderr; --format sarif then writes no log).",
	{
		{ "-p, --policy FILE", "the org policy (default: the embedded "
		    "strict policy, contrib/policies/strict.yaml)" },
		{ "-n, --name NAME", "the package name the publish URL would "
		    "carry (checked against the package's; default: the "
		    "package's own)" },
		{ "-j, --json", "one JSON object per argument: "
		    "{\"file\":..,\"report\":{..}}" },
		{ "--reading", "one JSON line per argument: the verdict and "
		    "every regular file of the tarball as read (path, size, "
		    "sha256)" },
		{ "-l, --list", "for a folder: print the files npm pack would "
		    "pack, one per line; judge nothing" },
		{ "-f, --format FORMAT", "text (default), json (as --json) or "
		    "sarif: one SARIF 2.1.0 log for all arguments, a result "
		    "per reason (error blocks, warning warns, note suppressed)" },
		{ "--previous PREV.tgz", "under a rule with diff:, judge each "
		    "FILE against this .tgz of the previous version (named by "
		    "the version in its file name); without it a .tgz is judged "
		    "alone" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate scan -p policy.yaml .",
		"pubgate scan --list .",
		"pubgate scan --format sarif . > pubgate.sarif",
		"pubgate scan --json acme-lib-1.2.0.tgz | jq .report.reasons",
		"pubgate scan --previous acme-lib-1.1.0.tgz acme-lib-1.2.0.tgz",
		NULL,
	},
},
{
	"policy",
	"pubgate policy check FILE",
	"Loads an org policy file with the gate's own loader and reports\n"
	"every error as file:line:col: message (exit 2), or prints\n"
	"`policy OK (N rules)` (exit 0).  The policy's keys are described in\n"
	"pubgate-policy(5).",
	{
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate policy check /etc/pubgate/policy.yaml",
		NULL,
	},
},
{
	"serve",
	"pubgate serve [-nv] [-c pubgate.yaml] [--listen URL] "
	    "[--upstream URL] [--upstream-ca FILE]\n"
	"              [--policy FILE] [--tls-cert FILE --tls-key FILE] "
	    "[--db FILE] [--admin URL]\n"
	"              [--workers N|auto]\n"
	"              [--egress-listen URL --ca-cert FILE --ca-key FILE]\n"
	"              [--intercept HOST[=ADDR:PORT]]... [--tunnel HOST]...",
	"Runs the gate: a reverse proxy in front of the npm registry that\n"
	"opens every publish, judges it under the org policy and forwards the\n"
	"exact bytes or refuses with a 403 whose text npm prints.  Reads pass\n"
	"through.  Settings come from pubgate.yaml (pubgate.yaml(5)), flags\n"
	"override them; with neither it listens on http://127.0.0.1:8080 in\n"
	"front of https://registry.npmjs.org with the embedded strict policy.\n"
	"SIGHUP reloads the policy and TLS files, SIGTERM drains and exits 0.\n"
	"A plain http:// upstream is refused unless it is loopback or the\n"
	"settings say allow_insecure_upstream: true.",
	{
		{ "-c, --config FILE", "the server settings (pubgate.yaml)" },
		{ "-n", "check the settings, the policy and every file they "
		    "name; print every problem (exit 2) or `configuration OK`" },
		{ "-v", "debug lines in the log" },
		{ "--listen URL", "http://host:port or https://host:port "
		    "(replaces the file's listeners)" },
		{ "--upstream URL", "the registry (default "
		    "https://registry.npmjs.org)" },
		{ "--upstream-ca FILE", "PEM CAs that vouch for the upstream "
		    "(default: the system store)" },
		{ "-p, --policy FILE", "the org policy (default: embedded "
		    "strict)" },
		{ "--tls-cert FILE", "certificate (PEM) of the https "
		    "listeners" },
		{ "--tls-key FILE", "its private key (PEM)" },
		{ "--db FILE", "the decision store (default pubgate.db)" },
		{ "--admin URL", "the admin API listener, http://host:port" },
		{ "--workers N|auto", "serving processes, 1 .. 64 (default "
		    "auto: one per CPU it may run on)" },
		{ "--egress-listen URL", "egress mode: the forward-proxy "
		    "listener" },
		{ "--ca-cert FILE", "egress: the CA certificate (pubgate ca "
		    "init)" },
		{ "--ca-key FILE", "egress: the CA key" },
		{ "--intercept HOST[=ADDR:PORT]", "egress: a host to "
		    "intercept (repeatable)" },
		{ "--tunnel HOST", "egress: a host to relay blindly "
		    "(repeatable)" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate serve",
		"pubgate serve -n -c /etc/pubgate/pubgate.yaml",
		"pubgate serve --listen https://0.0.0.0:8443 --tls-cert "
		    "cert.pem --tls-key key.pem",
		"npm --registry http://127.0.0.1:8080/ publish",
		NULL,
	},
},
{
	"log",
	"pubgate log [--db FILE] [--blocked] [--since DURATION|TIME] "
	    "[--package GLOB]\n"
	"            [--scope @x] [--user NAME|FINGERPRINT] [--json] "
	    "[--limit N]",
	"Lists the gate's recorded decisions, newest first, one line each\n"
	"(time, verdict, status, kind, package@version, user, who, reasons), or\n"
	"with --json the array the admin API serves.  Reads the store while\n"
	"the gate writes it.  Exit 0, or 2 with one line on stderr.",
	{
		{ "-d, --db FILE", "the decision store (default pubgate.db)" },
		{ "-b, --blocked", "refusals only" },
		{ "-s, --since DURATION|TIME", "15m, 2h, 7d, 1h30m, 2026-11-24 "
		    "or 2026-11-24T10:00:00Z" },
		{ "-p, --package GLOB", "package names (@acme/*)" },
		{ "-S, --scope @x", "one scope" },
		{ "-u, --user NAME|FINGERPRINT", "an npm user name (whoami) "
		    "or the start of a token fingerprint" },
		{ "-j, --json", "a JSON array" },
		{ "-n, --limit N", "at most N rows (default 100, at most "
		    "10000)" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate log --db /var/lib/pubgate/decisions.db --blocked "
		    "--since 1h",
		"pubgate log --package '@acme/*' --json | jq '.[0]'",
		NULL,
	},
},
{
	"show",
	"pubgate show [--db FILE] [--quarantine DIR] [--json | --cyclonedx] "
	    "DECISION-ID",
	"Prints one decision in full: the id a refused publish's error text\n"
	"names (\"decision 1a2b3c4d-17: quote it to your security team\"),\n"
	"with who, from where, what, the verdict and every reason with its\n"
	"fix.  Exit 0; 1 when the store has no such decision; 2 on a\n"
	"malformed id or an error.",
	{
		{ "-d, --db FILE", "the decision store (default pubgate.db)" },
		{ "-j, --json", "one JSON object, as pubgate log --json writes "
		    "them" },
		{ "-c, --cyclonedx", "the published files as a CycloneDX 1.5 "
		    "JSON SBOM" },
		{ "-q, --quarantine DIR", "quarantine.dir of pubgate.yaml: says "
		    "whether the refused tarball is kept there (DIR/ID.tgz)" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate show --db /var/lib/pubgate/decisions.db 1a2b3c4d-17",
		"pubgate show --quarantine /var/lib/pubgate/quarantine "
		    "1a2b3c4d-17",
		NULL,
	},
},
{
	"approve",
	"pubgate approve [--db FILE] [--by NAME] [--expires DURATION] "
	    "[--once] [--json]\n"
	"                --reason TEXT DECISION-ID",
	"Makes a waiver: lets exactly the tarball (its sha512) of a blocked\n"
	"publish decision, or of one awaiting approval (approval: required),\n"
	"through on the next publish of that package@version, once (--once)\n"
	"or as often as it is sent until the waiver expires (default 7d, at\n"
	"most 90d).  A different tarball or version is never let through.\n"
	"The gate's own inspection reasons (integrity., consistency., ...)\n"
	"cannot be waived.  The reviewer (--by, else $SUDO_USER, else the OS\n"
	"user) must not be the decision's publisher.  The approval is\n"
	"recorded as a decision (kind waiver-approve) with who, when and why.\n"
	"Exit 0; 1 when refused or there is no such decision; 2 on an error.",
	{
		{ "-d, --db FILE|URL", "the decision store (default "
		    "pubgate.db)" },
		{ "-r, --reason TEXT", "why (required; 1 to 199 bytes)" },
		{ "-b, --by NAME", "the reviewer's name (default $SUDO_USER or "
		    "the OS user)" },
		{ "-e, --expires DURATION", "how long it lasts: 30m, 2h, 7d "
		    "(default 7d, at most 90d)" },
		{ "-o, --once", "one use, then spent" },
		{ "-j, --json", "the waiver as one JSON object" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate approve --db /var/lib/pubgate/pubgate.db --once "
		    "--reason \"jwt.io sample token in a test\" 1a2b3c4d-17",
		NULL,
	},
},
{
	"waivers",
	"pubgate waivers [--db FILE] [--active] [--json] [--limit N]",
	"Lists waivers, newest first, with their state (active, used,\n"
	"expired, revoked), the decision, package@version and sha512 they\n"
	"name, who approved them, why, until when, and how often they were\n"
	"used.  Exit 0, or 2 on an error.",
	{
		{ "-d, --db FILE|URL", "the decision store (default "
		    "pubgate.db)" },
		{ "-a, --active", "only waivers that would let a publish "
		    "through now" },
		{ "-j, --json", "a JSON array" },
		{ "-n, --limit N", "at most N (default 100)" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate waivers --db /var/lib/pubgate/pubgate.db --active",
		NULL,
	},
},
{
	"revoke",
	"pubgate revoke [--db FILE] [--by NAME] --reason TEXT WAIVER-ID",
	"Ends a waiver before it expires (or is used); recorded as a\n"
	"decision (kind waiver-revoke) with who, when and why.  Exit 0; 1 when\n"
	"there is no such waiver or it is revoked already; 2 on an error.",
	{
		{ "-d, --db FILE|URL", "the decision store (default "
		    "pubgate.db)" },
		{ "-r, --reason TEXT", "why (required; 1 to 199 bytes)" },
		{ "-b, --by NAME", "the reviewer's name (default $SUDO_USER or "
		    "the OS user)" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate revoke --reason \"approved by mistake\" 3",
		NULL,
	},
},
{
	"db",
	"pubgate db migrate [--db FILE|postgresql://...]",
	"Creates the decision store, or brings its schema up to this\n"
	"version of pubgate, and prints the schema version.  The store is a\n"
	"SQLite file or a PostgreSQL database (a postgresql:// URL).\n"
	"Exit 0, or 2 with one line on stderr.",
	{
		{ "-d, --db FILE|URL", "the decision store (default "
		    "pubgate.db)" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate db migrate --db /var/lib/pubgate/decisions.db",
		"pubgate db migrate --db postgresql://pubgate@db/pubgate",
		NULL,
	},
},
{
	"ca",
	"pubgate ca init --out DIR [--name NAME] [--days N] "
	    "[--permit HOST]... [-c pubgate.yaml]",
	"Creates an evaluation CA for egress mode in DIR (ca.pem, ca-key.pem,\n"
	"mode 0600) and prints the lines that make npm and node trust it.\n"
	"The CA is name-constrained: it can only certify the hosts the gate\n"
	"intercepts (egress.intercept of the settings given with -c, or\n"
	"registry.npmjs.org) and every --permit HOST.",
	{
		{ "-o, --out DIR", "where to write the CA (created; files must "
		    "not exist)" },
		{ "-n, --name NAME", "the CA's common name" },
		{ "-d, --days N", "validity in days" },
		{ "-p, --permit HOST", "one more host the CA may certify "
		    "(repeatable)" },
		{ "-c, --config FILE", "take the intercepted hosts from these "
		    "settings" },
		{ "-h, --help", "this text" },
		{ NULL, NULL },
	},
	{
		"pubgate ca init --out /etc/pubgate/ca -c "
		    "/etc/pubgate/pubgate.yaml",
		NULL,
	},
},
{
	"version",
	"pubgate version",
	"Prints the version of this pubgate (also: pubgate --version, -V),\n"
	"the one its metrics and the admin API report.",
	{
		{ NULL, NULL },
	},
	{
		"pubgate --version",
		NULL,
	},
},
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static const struct help_cmd *
find(const char *name)
{
	size_t	 i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

int
px_help_known(const char *cmd)
{
	return find(cmd) != NULL;
}

const char *
px_help_usage(const char *cmd)
{
	const struct help_cmd	*c = find(cmd);

	return c != NULL ? c->usage : "pubgate help";
}

void
px_help_summary(FILE *f)
{
	size_t	 i;

	fprintf(f, "pubgate: the npm publish gate\n\nusage:");
	for (i = 0; i < NCMDS; i++) {
		const char	*u = cmds[i].usage, *nl;

		fputs(i == 0 ? " " : "       ", f);
		while ((nl = strchr(u, '\n')) != NULL) {
			fprintf(f, "%.*s\n       ", (int)(nl - u + 1) - 1, u);
			u = nl + 1;
		}
		fprintf(f, "%s\n", u);
	}
	fprintf(f, "\n`pubgate COMMAND --help` describes each command; "
	    "man pubgate, pubgate.yaml(5),\npubgate-policy(5).\n");
}

int
px_help_print(FILE *f, const char *cmd)
{
	const struct help_cmd	*c;
	size_t			 i;

	if ((c = find(cmd)) == NULL)
		return -1;
	fprintf(f, "usage: %s\n\n%s\n", c->usage, c->desc);
	if (c->opts[0].flag != NULL) {
		fprintf(f, "\noptions:\n");
		for (i = 0; c->opts[i].flag != NULL; i++)
			fprintf(f, "  %-30s %s\n", c->opts[i].flag,
			    c->opts[i].text);
	}
	if (c->examples[0] != NULL) {
		fprintf(f, "\nexamples:\n");
		for (i = 0; c->examples[i] != NULL; i++)
			fprintf(f, "  %s\n", c->examples[i]);
	}
	return 0;
}

/* roff() : s with roff's special characters escaped. */
static void
roff(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\n')
			fputc(' ', f);
		else
			fputc(*s, f);
	}
}

/* roff_line() : a text line that cannot start with a control character. */
static void
roff_line(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	roff(f, s);
	fputc('\n', f);
}

void
px_help_man(FILE *f, const char *version)
{
	size_t	 i, j;

	fprintf(f, ".\\\" pubgate(1), written by `pubgate help --man` from "
	    "proxy/cmd/help.c.\n");
	fprintf(f, ".TH PUBGATE 1 \"\" \"pubgate %s\" \"User Commands\"\n",
	    version);
	fprintf(f, ".SH NAME\npubgate \\- the npm publish gate\n");
	fprintf(f, ".SH SYNOPSIS\n.nf\n");
	for (i = 0; i < NCMDS; i++) {
		roff_line(f, cmds[i].usage);
	}
	fprintf(f, ".fi\n.SH DESCRIPTION\n");
	roff_line(f, "pubgate stops unsafe npm publishes at the network, "
	    "before they go public. It sits between developers or CI and the "
	    "npm registry, opens every publish as a stream (JSON body, base64, "
	    "gzip, tar), applies the org's YAML policy and either forwards the "
	    "exact bytes or refuses with a 403 whose text npm prints.");
	fprintf(f, ".SH COMMANDS\n");
	for (i = 0; i < NCMDS; i++) {
		const struct help_cmd *c = &cmds[i];

		fprintf(f, ".SS %s\n.nf\n", c->name);
		roff_line(f, c->usage);
		fprintf(f, ".fi\n.PP\n");
		roff_line(f, c->desc);
		for (j = 0; c->opts[j].flag != NULL; j++) {
			fprintf(f, ".TP\n.B ");
			roff(f, c->opts[j].flag);
			fputc('\n', f);
			roff_line(f, c->opts[j].text);
		}
		if (c->examples[0] != NULL) {
			fprintf(f, ".PP\nExamples:\n.RS\n.nf\n");
			for (j = 0; c->examples[j] != NULL; j++)
				roff_line(f, c->examples[j]);
			fprintf(f, ".fi\n.RE\n");
		}
	}
	fprintf(f, ".SH EXIT STATUS\n"
	    "0: allowed, OK; 1: blocked (scan), no such decision (show); "
	    "2: an error, with one line on standard error naming the flag, "
	    "file or file:line:col at fault.\n");
	fprintf(f, ".SH FILES\n.TP\n.I /etc/pubgate/pubgate.yaml\n"
	    "server settings, pubgate.yaml(5)\n"
	    ".TP\n.I /etc/pubgate/policy.yaml\nthe org policy, "
	    "pubgate\\-policy(5)\n"
	    ".TP\n.I /var/lib/pubgate/decisions.db\nthe decision store\n");
	fprintf(f, ".SH SEE ALSO\n.BR pubgate.yaml (5),\n"
	    ".BR pubgate\\-policy (5),\n.BR npm (1)\n");
}
