/* tests/helpers/th_pki.c - see th_pki.h. */
#include "tests/helpers/th_pki.h"

#include <stdio.h>
#include <stdlib.h>

int
th_pki_make(struct th_pki *p, const char *dir)
{
	char cmd[4096];
	int rc;

	snprintf(p->ca, sizeof(p->ca), "%s/ca.pem", dir);
	snprintf(p->cert, sizeof(p->cert), "%s/node.pem", dir);
	snprintf(p->key, sizeof(p->key), "%s/node.key", dir);
	snprintf(p->other_ca, sizeof(p->other_ca), "%s/other-ca.pem", dir);
	snprintf(cmd, sizeof(cmd),
	    "cd '%s' && umask 077 && "
	    "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n"
	    "basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' "
	    ">ext.cnf && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	    " -nodes -keyout ca.key -out ca.pem -days 2 "
	    "-subj '/CN=ballast test CA' 2>/dev/null && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
	    "-nodes -keyout node.key -out node.csr -subj '/CN=127.0.0.1' "
	    "2>/dev/null && "
	    "openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -out node.pem -days 2 -extfile ext.cnf "
	    "2>/dev/null && "
	    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
	    " -nodes -keyout other-ca.key -out other-ca.pem -days 2 "
	    "-subj '/CN=some other CA' 2>/dev/null", dir);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc == 0 ? 0 : -1;
}
