# The front page: every post's title, linked.
from ward import fn

print("<ul>")
for post in fn.list_posts():
    print('<li><a href="/post/%d">%s</a></li>' % (post["id"], post["title"]))
print("</ul>")
