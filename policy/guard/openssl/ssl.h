/*
 * policy/guard/openssl/ssl.h: stands in front of the system header of the same
 * name while policy/ compiles, so that the engine cannot use libevent or
 * OpenSSL's TLS layer (policy/ is pure: libyaml, zlib, libcrypto, Hyperscan).
 */
#error "policy/ must not include openssl/ssl.h: keep sockets, libevent and TLS in proxy/ and certs/"
