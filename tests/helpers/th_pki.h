/* tests/helpers/th_pki.h - a private PKI for the TLS tests, made with the
 * openssl command at run time (nothing is committed).
 */
#ifndef TH_PKI_H
#define TH_PKI_H

struct th_pki {
	char	ca[700];	/* the CA's certificate */
	char	cert[700];	/* a server certificate the CA signs for
				 * 127.0.0.1 and localhost */
	char	key[700];	/* its key */
	char	other_ca[700];	/* a second CA, which signed nothing */
};

/* Makes the PKI's files in dir (an existing directory) and writes their
 * paths to p. 0 or -1 (the failed command is printed). */
int	th_pki_make(struct th_pki *p, const char *dir);

#endif
