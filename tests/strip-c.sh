# strip-c.sh - sourced by the tests/check-*.sh scans.
#
# strip_c FILE: print FILE with C comments and string/char literals
# blanked out (line numbers kept, so reports point at the right line).
strip_c() {
    perl -0777 -pe '
        s{/\*.*?\*/}{ (my $c = $&) =~ s/[^\n]//g; $c }gse;
        s{//[^\n]*}{}g;
        s{"(?:\\.|[^"\\\n])*"}{""}g;
        s{\x27(?:\\.|[^\x27\\\n])*\x27}{\x27\x27}g;
    ' "$1"
}
