# Loaded through PERL5OPT into every Perl program the tests start (swaks,
# the Net::SMTP client): at exit, appends the files of every module the
# program loaded to $SMTPSHIM_TEST_PERL_MODULES, so that
# test_install_list.py can name the Debian package each came from.
package Smtpshim::LoadedModules;
use strict;
use warnings;

END {
	my $log = $ENV{SMTPSHIM_TEST_PERL_MODULES} or return;
	open(my $fh, '>>', $log) or return;
	print $fh "$_\n" for grep { defined && m{^/} } values %INC;
	close($fh);
}

1;
