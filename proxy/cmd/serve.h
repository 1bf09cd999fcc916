/*
 * proxy/cmd/serve.h: the `pubgate serve` subcommand (serve.c), the only entry
 * into the daemon that main.c sees.
 */
#ifndef PUBGATE_SERVE_H
#define PUBGATE_SERVE_H

/* px_serve_main() : argv[0] is "serve"; returns the exit code (0, 2). */
int	px_serve_main(int argc, char *argv[]);

#endif /* PUBGATE_SERVE_H */
