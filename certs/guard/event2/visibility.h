/*
 * certs/guard/event2/visibility.h: stands in front of the system header of the
 * same name while certs/ compiles, so that the certificate module cannot
 * use libevent (certs/ is OpenSSL only: no event loop, no sockets).
 */
#error "certs/ must not include event2/visibility.h: keep libevent and sockets in proxy/"
