/*
 * proxy/core/tls.c: the daemon's OpenSSL contexts.
 *
 * Server side: one SSL_CTX per https listener from its cert, key and
 * optional chain file; rebuilt on SIGHUP (serve.c swaps it only when the
 * new one loads).  Client side: one SSL_CTX for the upstream that always
 * verifies the chain (upstream_ca, else the system store) and, per
 * connection, the host name (SSL_set1_host, or the IP address) with SNI.
 * Errors are drained from the OpenSSL queue into the caller's buffer so
 * one connection's error is never reported against another.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include "proxy-int.h"

const char *
px_tls_errors(char *buf, size_t len)
{
	unsigned long	 e;
	size_t		 off = 0;
	char		 one[256];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		if (off + 2 < len) {
			int n = snprintf(buf + off, len - off, "%s%s",
			    off ? "; " : "", one);
			if (n > 0)
				off += (size_t)n;
			if (off >= len)
				off = len - 1;
		}
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "unknown TLS error");
	return buf;
}

/*
 * add_chain() : adds every certificate of the PEM file path to the
 * chain of ctx; 0 or -1.
 */
static int
add_chain(SSL_CTX *ctx, const char *path)
{
	FILE	*f;
	X509	*x;
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (!SSL_CTX_add0_chain_cert(ctx, x)) {
			X509_free(x);
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	ERR_clear_error();	/* the PEM EOF "error" */
	return n > 0 ? 0 : -1;
}

SSL_CTX *
px_tls_server_ctx(const char *cert, const char *key, const char *chain,
    char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	char	 e[512];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "cert %s: %s", cert,
		    px_tls_errors(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (chain != NULL && chain[0] != '\0' && add_chain(ctx, chain) == -1) {
		snprintf(err, errlen, "chain %s: %s", chain,
		    px_tls_errors(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s: %s", key,
		    px_tls_errors(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
fail:
	snprintf(err, errlen, "%s", px_tls_errors(e, sizeof(e)));
	return NULL;
}

SSL_CTX *
px_tls_client_ctx(const char *cafile, char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	char	 e[512];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "%s", px_tls_errors(e, sizeof(e)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cafile != NULL && cafile[0] != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
			snprintf(err, errlen, "upstream_ca %s: %s", cafile,
			    px_tls_errors(e, sizeof(e)));
			SSL_CTX_free(ctx);
			return NULL;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "system CA store: %s",
		    px_tls_errors(e, sizeof(e)));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL *
px_tls_client_new(SSL_CTX *ctx, const char *host)
{
	SSL			*ssl;
	unsigned char		 addr[16];
	X509_VERIFY_PARAM	*vp;
	int			 is_ip;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	is_ip = inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1;
	if (is_ip) {
		vp = SSL_get0_param(ssl);
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1)
			goto fail;
	} else {
		/* SNI is for names only (RFC 6066 3). */
		if (SSL_set_tlsext_host_name(ssl, host) != 1)
			goto fail;
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(ssl, host) != 1)
			goto fail;
	}
	SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return ssl;
fail:
	SSL_free(ssl);
	return NULL;
}

/*
 * Without read-ahead OpenSSL reads a record's 5-byte header, then the
 * record: two read syscalls per 16 KiB.  With it, each read fills the
 * buffer, several records at once.
 */
void
px_tls_bulk(SSL *ssl)
{
	SSL_set_default_read_buffer_len(ssl, PX_TLS_RBUF);
	SSL_set_read_ahead(ssl, 1);
}
