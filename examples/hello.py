#!/usr/bin/python3
"""Word frequencies of some text files (this script's own source by default).

    ward run -- python3 examples/hello.py [FILE...]

Each file is read and counted by its own thread; the summary is printed as
JSON: how many files and words, how many distinct words, and the ten most
frequent ones with their counts (ties in alphabetical order).
"""

import collections
import json
import re
import sys
import threading

WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def count_words(path, counts, errors, lock):
    try:
        with open(path, encoding="utf-8") as f:
            words = WORD.findall(f.read().lower())
    except OSError as e:
        with lock:
            errors.append("%s: %s" % (path, e.strerror))
        return
    with lock:
        counts.update(words)


def main(paths):
    paths = paths or [__file__]
    counts = collections.Counter()
    errors = []
    lock = threading.Lock()
    threads = [threading.Thread(target=count_words, args=(p, counts, errors, lock))
               for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors:
        print("hello.py: %s" % e, file=sys.stderr)
    top = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10])
    summary = {
        "files": len(paths),
        "words": sum(counts.values()),
        "distinct": len(counts),
        "top": top,
    }
    print(json.dumps(summary, indent=1))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
