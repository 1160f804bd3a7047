/* cli_acl.h - `kafka-gateway acl ...`: checking a policy file and asking it
 * why a request would be allowed or denied. */
#ifndef KG_CLI_ACL_H
#define KG_CLI_ACL_H

/*
 * argv[0] is the program, argv[1] "acl", argv[2] the subcommand:
 *
 *   acl explain (--policy FILE | -c CONFIG) --principal Type:name
 *               [--address IP] --resource topic:NAME|group:NAME|
 *               transactional_id:NAME|cluster --operation OP
 *   acl check   (--policy FILE | -c CONFIG)
 *
 * -c takes the gateway configuration and uses its acl.policy_file (a
 * relative path is relative to the current directory, as for the gateway).
 * explain prints the decision and the rule that made it; exit status 0
 * when allowed, 3 when denied. check prints role and rule counts, 0 when
 * the policy is valid. Both: 1 on a bad policy or configuration, 2 on bad
 * usage.
 */
int kg_cli_acl(int argc, char **argv);

#endif
