#!/bin/sh
# The five most frequent words of standard input, with a coreutils pipeline.
#
#     ward run -- sh examples/hello.sh < some.txt
#
# Prints "COUNT WORD" lines (ties in alphabetical order), then the total.
words=$(mktemp)
trap 'rm -f "$words"' EXIT
tr -cs '[:alpha:]' '\n' | tr '[:upper:]' '[:lower:]' | sed '/^$/d' > "$words"
sort "$words" | uniq -c | sort -k1,1nr -k2,2 | head -n 5 | sed 's/^ *//'
echo "total $(wc -l < "$words")"
