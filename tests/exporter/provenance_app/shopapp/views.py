"""The shop's handlers: its own CPU (crunch), Jinja2 rendering, and with Pygments (when the
interpreter has it) syntax highlighting."""
from flask import Flask, render_template_string

try:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
except ImportError:
    highlight = None

app = Flask(__name__)
SOURCE = open(__file__).read()
PAGE = "{% for i in range(n) %}<li>{{ i }} {{ name|upper }}</li>{% endfor %}"


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


@app.route("/")
def index():
    crunch(5000)
    return render_template_string(PAGE, n=300, name="widget")


@app.route("/code")
def code():
    if highlight is None:
        return "no pygments"
    return highlight(SOURCE, PythonLexer(), HtmlFormatter())
