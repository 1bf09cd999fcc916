/*
 * certs/guard/event2/event-config.h: stands in front of the system header of the
 * same name while certs/ compiles, so that the certificate module cannot
 * use libevent (certs/ is OpenSSL only: no event loop, no sockets).
 */
#error "certs/ must not include event2/event-config.h: keep libevent and sockets in proxy/"
