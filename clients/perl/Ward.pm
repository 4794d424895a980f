# Ward — call the host's functions from inside a ward box.
#
#     use Ward;
#     my $post = Ward::call("get_post", 3);
#     my $same = Ward->fn->get_post(3);
#
# A failed call dies with a Ward::Error object ({code, message}; it
# stringifies as "CODE: MESSAGE"). Protocol: ward's docs/PROTOCOL.md (4-byte
# big-endian length + JSON on the fd named by WARD_CHANNEL_FD). Core Perl
# only (JSON::PP).
package Ward;
use strict;
use warnings;
use JSON::PP ();

my $json = JSON::PP->new->utf8->canonical->allow_nonref;
my $fh;
my $next_id = 0;

sub _channel {
    return $fh if $fh;
    my $fd = $ENV{WARD_CHANNEL_FD};
    die Ward::Error->new("no-channel", "WARD_CHANNEL_FD is not set: this box has no host functions")
        unless defined $fd && length $fd;
    open($fh, "+<&=", $fd) or die Ward::Error->new("no-channel", "cannot open fd $fd: $!");
    binmode $fh;
    return $fh;
}

sub _read_exact {
    my ($h, $n) = @_;
    my $buf = "";
    while (length($buf) < $n) {
        my $got = sysread($h, $buf, $n - length($buf), length($buf));
        die Ward::Error->new("closed", "the host closed the channel") unless $got;
    }
    return $buf;
}

sub call {
    my ($name, @args) = @_;
    my $h = _channel();
    my $body = $json->encode({ id => ++$next_id, fn => "$name", args => \@args });
    my $msg = pack("N", length $body) . $body;
    my $off = 0;
    while ($off < length $msg) {
        my $w = syswrite($h, $msg, length($msg) - $off, $off);
        die Ward::Error->new("closed", "cannot write to the channel: $!") unless defined $w;
        $off += $w;
    }
    my $n = unpack("N", _read_exact($h, 4));
    my $reply = $json->decode(_read_exact($h, $n));
    if (my $e = $reply->{error}) {
        die Ward::Error->new($e->{code}, $e->{message});
    }
    return $reply->{result};
}

# Ward->fn->NAME(@args) is Ward::call("NAME", @args).
sub fn { return bless {}, "Ward::Functions" }

package Ward::Functions;
our $AUTOLOAD;
sub AUTOLOAD {
    my $self = shift;
    (my $name = $AUTOLOAD) =~ s/.*:://;
    return if $name eq "DESTROY";
    return Ward::call($name, @_);
}

package Ward::Error;
use overload '""' => sub { "$_[0]{code}: $_[0]{message}" }, fallback => 1;
sub new { my ($class, $code, $message) = @_; return bless { code => $code, message => $message }, $class }
sub code { $_[0]{code} }
sub message { $_[0]{message} }

1;
