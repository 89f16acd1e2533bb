# Byline: `make run` to try it, `make test` to check it. Everything else here serves those two.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Canonical links, feeds and handouts point at the port the site is served on.
export BYLINE_SITE_URL ?= http://127.0.0.1:$(PORT)
export DJANGO_SETTINGS_MODULE ?= byline.settings.dev

.PHONY: run serve install install-test migrate demo test test-sqlite test-postgres browsers lock scheduler bench clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "Byline needs Python 3.11 or later; $(PYTHON) is $$($(PYTHON) --version 2>&1). Try: make $(MAKECMDGOALS) PYTHON=python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

## Try Byline: set up everything, load the demo newsroom once, serve it on http://127.0.0.1:$(PORT)
run: demo
	@echo "Serving on http://127.0.0.1:$(PORT)/ (admin: http://127.0.0.1:$(PORT)/admin/). Ctrl-C stops."
	scripts/serve-dev $(PORT)

## The production way: granian (WSGI) with the page cache in front of Django (set SECRET_KEY, DATABASE_URL, REDIS_URL, ALLOWED_HOSTS).
serve: install
	DJANGO_SETTINGS_MODULE=byline.settings.production $(PY) manage.py collectstatic --noinput -v0
	DJANGO_SETTINGS_MODULE=byline.settings.production $(VENV)/bin/granian --interface wsgi --workers 1 --blocking-threads 16 --host 127.0.0.1 --port $(PORT) byline.wsgi:application

## The job runner: publishes scheduled pages, counts pixel hits, checks copies (`run_jobs --help` lists the jobs).
scheduler: install
	$(PY) manage.py run_jobs

## The whole suite on SQLite, then on PostgreSQL when one is configured or answers on 127.0.0.1:5432.
test: install-test browsers nginx pdf-tools test-sqlite test-postgres

test-sqlite:
	mkdir -p var/test-results
	DJANGO_SETTINGS_MODULE=byline.settings.test $(PY) -m pytest --junitxml=var/test-results/sqlite.xml

test-postgres:
	@url="$${DATABASE_URL:-}"; \
	if [ -z "$$url" ] && $(PY) scripts/postgres-answers 127.0.0.1 5432; then url="postgres://postgres@127.0.0.1:5432/test"; fi; \
	if [ -z "$$url" ]; then \
		echo "PostgreSQL: no DATABASE_URL and nothing answers on 127.0.0.1:5432; PostgreSQL run skipped."; \
		if [ -n "$${REQUIRE_POSTGRES:-}" ]; then echo "REQUIRE_POSTGRES is set: failing."; exit 1; fi; \
	else \
		echo "PostgreSQL run against $$url"; \
		mkdir -p var/test-results; \
		DATABASE_URL="$$url" DJANGO_SETTINGS_MODULE=byline.settings.test $(PY) -m pytest --junitxml=var/test-results/postgres.xml; \
	fi

## Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browsers:
	@scripts/ensure-chromium

## Debian's nginx and openssl for the deployment tests (deploy/nginx/byline.conf), and a C compiler for the counting test.
.PHONY: nginx
nginx:
	@scripts/ensure-nginx

## Debian's Pango and DejaVu fonts for the reach report's PDF (WeasyPrint), and pdftotext (poppler-utils) for its test.
.PHONY: pdf-tools
pdf-tools:
	@scripts/ensure-pdf-tools

## Re-pin dependencies from requirements*.in into requirements*.txt.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet -r requirements.in
	.lockenv/bin/pip freeze --exclude pip > requirements.txt
	.lockenv/bin/pip install --quiet -r requirements-test.in -c requirements.txt
	.lockenv/bin/pip freeze --exclude pip | grep -vxFf requirements.txt > requirements-test.txt; true
	sed -i '1i -r requirements.txt' requirements-test.txt
	rm -rf .lockenv

bench: install-test
	$(PY) bench/pages.py

clean:
	rm -rf var .pytest_cache
