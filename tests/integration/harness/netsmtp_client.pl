# Send one message with Perl's Net::SMTP.
#
# usage: perl netsmtp_client.pl HOST PORT TLS CA_FILE MAIL_FROM RCPT... < message
# TLS is none|starttls|implicit; CA_FILE is only used when TLS is not none.
# Errors go to stderr with the server's reply, non-zero exit status.
use strict;
use warnings;
use Net::SMTP;

my ($host, $port, $tls, $ca_file, $from, @rcpts) = @ARGV;
binmode STDIN;
my $data = do { local $/; <STDIN> };

my @ssl = $tls eq 'none' ? () : (SSL_ca_file => $ca_file, SSL_verify_mode => 1);
my $smtp = Net::SMTP->new($host, Port => $port, Hello => 'client.test', Timeout => 30,
                          ($tls eq 'implicit' ? (SSL => 1, @ssl) : ()))
    or die "Net::SMTP: connect to $host:$port failed: " . ($@ || $!) . "\n";

sub fail { die "Net::SMTP: $_[0] failed: " . $smtp->code . ' ' . $smtp->message }

if ($tls eq 'starttls') { $smtp->starttls(@ssl) or fail('STARTTLS') }
$smtp->mail($from) or fail('MAIL FROM');
$smtp->to(@rcpts) or fail('RCPT TO');
$smtp->data or fail('DATA');
$smtp->datasend($data) or fail('sending data');
$smtp->dataend or fail('end of data');
$smtp->quit;
