/* cli_user.h - `kafka-gateway user ...`: managing the SASL users file. */
#ifndef KG_CLI_USER_H
#define KG_CLI_USER_H

/*
 * argv[0] is the program, argv[1] "user", argv[2] the subcommand:
 *
 *   user add          --users FILE [--mechanisms M[,M]] [--iterations N]
 *                     [--password-stdin] NAME
 *   user set-password (same options) NAME
 *   user remove       --users FILE NAME
 *   user list         --users FILE
 *
 * add fails when NAME exists, set-password and remove when it does not;
 * set-password replaces all of NAME's credentials with the mechanisms
 * given. The password is read from the terminal without echo, twice, or
 * with --password-stdin as the first line of stdin. The file is created
 * with mode 0600 when missing and always replaced atomically. list prints
 * "NAME<TAB>MECH:ITERATIONS ..." per user, never keys.
 * Returns the exit status: 0, 1 on an error, 2 on bad usage.
 */
int kg_cli_user(int argc, char **argv);

#endif
