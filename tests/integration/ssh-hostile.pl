#!/usr/bin/perl
# ssh-hostile.pl - hostile SSH clients for ssh-shell.test (not OpenSSH):
# each case connects to 127.0.0.1:PORT, sends what a broken or hostile
# peer would, and reports how the gateway ended the connection:
#   ssh-hostile.pl PORT CASE     -> prints "CASE: closed after N bytes"
#                                   or "CASE: still open" (exit 1)
#   ssh-hostile.pl PORT many N   -> opens N connections at once, prints
#                                   how many got the server's banner and
#                                   how many were closed without one
# Cases: badbanner longbanner garbage len0 lenmax nocommon rekex silent.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;

my ($port, $case, $n) = @ARGV;
die "usage: $0 PORT CASE [N]\n" unless defined $case;

sub conn {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 10)
        or die "connect: $!\n";
    binmode $s;
    return $s;
}

# Read until EOF or $secs of silence; returns (bytes, closed?).
sub drain {
    my ($s, $secs) = @_;
    my $sel = IO::Select->new($s);
    my ($got, $buf) = (0, '');
    while ($sel->can_read($secs)) {
        my $r = sysread($s, $buf, 65536);
        return ($got, 1) if !defined $r || $r == 0;
        $got += $r;
    }
    return ($got, 0);
}

# The server's identification line.
sub banner {
    my ($s) = @_;
    my $line = '';
    my $sel = IO::Select->new($s);
    while ($sel->can_read(10)) {
        my $c;
        my $r = sysread($s, $c, 1);
        return undef if !$r;
        $line .= $c;
        return $line if $c eq "\n";
        return undef if length $line > 255;
    }
    return undef;
}

sub string { return pack('N/a*', $_[0]) }

# One unencrypted binary packet around payload (block size 8).
sub packet {
    my ($payload) = @_;
    my $pad = 8 - ((5 + length $payload) % 8);
    $pad += 8 if $pad < 4;
    return pack('NC', 1 + length($payload) + $pad, $pad) . $payload
        . ("\0" x $pad);
}

# A KEXINIT (message 20) offering the given algorithms.
sub kexinit {
    my ($kex, $hostkey, $cipher) = @_;
    return packet(pack('C', 20) . ("\x11" x 16) . string($kex)
        . string($hostkey) . string($cipher) . string($cipher)
        . string('hmac-sha2-256') . string('hmac-sha2-256')
        . string('none') . string('none') . string('') . string('')
        . pack('CN', 0, 0));
}

my %send = (
    badbanner  => sub { "HELLO THERE\r\n" },
    longbanner => sub { 'SSH-2.0-' . ('A' x 400) . "\r\n" },
    garbage    => sub { "SSH-2.0-hostile\r\n" . join('', map { chr(($_ * 37 + 11) % 256) } 1 .. 256) },
    len0       => sub { "SSH-2.0-hostile\r\n" . pack('N', 0) . ("\0" x 60) },
    lenmax     => sub { "SSH-2.0-hostile\r\n" . pack('N', 0xffffffff) . ("\0" x 60) },
    nocommon   => sub { "SSH-2.0-hostile\r\n" . kexinit('diffie-hellman-group1-sha1', 'ssh-dss', '3des-cbc') },
    rekex      => sub {
        my $k = kexinit('curve25519-sha256', 'ssh-ed25519',
                        'chacha20-poly1305@openssh.com');
        "SSH-2.0-hostile\r\n" . $k . $k . $k;
    },
    silent     => sub { '' },
);

if ($case eq 'many') {
    my (@socks, $banners, $refused);
    $banners = $refused = 0;
    push @socks, conn() for 1 .. $n;
    for my $s (@socks) {
        if (defined banner($s)) { $banners++ } else { $refused++ }
    }
    print "many: $banners with a banner, $refused closed without one\n";
    close $_ for @socks;
    exit 0;
}

my $make = $send{$case} or die "unknown case $case\n";
my $s = conn();
my $b = banner($s);
print "$case: server banner ", (defined $b ? "received" : "missing"), "\n";
syswrite($s, $make->()) if length $make->();
my ($got, $closed) = drain($s, $case eq 'silent' ? 40 : 15);
if ($closed) {
    print "$case: closed after $got bytes\n";
    exit 0;
}
print "$case: still open after $got bytes\n";
exit 1;
