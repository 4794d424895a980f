# One post: blog post.py ID
import sys
import ward

try:
    post = ward.fn.get_post(int(sys.argv[1]))
except ward.Error as e:
    print("<p>%s</p>" % e.message)
else:
    print("<h1>%s</h1>\n<p>%s</p>" % (post["title"], post["body"]))
