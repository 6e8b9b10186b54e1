# Two entry points on a fresh machine: `make demo` and `make test`. Both create .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := graph ingest api cli

.PHONY: demo test lint typecheck unit test-neo4j-lts neo4j browser screenshots vendor-web bench-ingest bench-search clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## make demo: install, then import the example postmortems and ask two questions
demo: $(VENV)/.installed
	$(BIN)/lessons demo

## make test: install with dev tools, then lint, type-check and run the whole test suite (on the
## current Neo4j), and the store contract suite again on Neo4j 5.26 LTS
test: lint typecheck unit test-neo4j-lts

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow setuptools' editable finder, so it reads the package through a
# tree of links that mirrors the installed layout (lessons/graph -> graph, ...).
typecheck: $(VENV)/.installed-dev
	rm -rf build/mypy && mkdir -p build/mypy/lessons
	for p in $(PACKAGES); do ln -s ../../../$$p build/mypy/lessons/$$p; done
	cd build/mypy && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p lessons

unit: $(VENV)/.installed-dev browser
	$(BIN)/pytest -q

## make test-neo4j-lts: the store contract suite on Neo4j 5.26 LTS, which users may still run;
## the same launcher, built for 5.26 beside the current release, on a Java 17 to 21
test-neo4j-lts: $(VENV)/.installed-dev
	LESSONS_TEST_NEO4J_VERSION=5.26.30 $(BIN)/pytest -q tests/contract -k neo4j

## make neo4j [DATA=dir]: start a real Neo4j on loopback for manual use (Ctrl-C stops it);
## with DATA the database is kept in that directory and found again by the next start
neo4j: $(VENV)/.installed-dev
	$(BIN)/python tests/neo4j/server.py $(if $(DATA),--data $(DATA))

## make browser: Debian's Chromium for the browser tests (installed with apt-get when missing)
browser:
	@command -v chromium >/dev/null || { \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -q && \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q chromium; }

## make screenshots: the browser tests, keeping a screenshot of each page in docs/screenshots
screenshots: $(VENV)/.installed-dev browser
	LESSONS_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser

## make vendor-web: fetch the front-end files listed in api/web/vendor.txt from the npm
## registry (npm pack, at the pinned versions) and copy them where the list says
vendor-web:
	rm -rf build/npm && mkdir -p build/npm
	grep -v '^#' api/web/vendor.txt | while read -r package file target; do \
		[ -d "build/npm/$$package" ] || { mkdir -p "build/npm/$$package" && \
			(cd build/npm && npm pack --silent "$$package" >/dev/null) && \
			tar -xzf build/npm/*.tgz -C "build/npm/$$package" && rm build/npm/*.tgz; } && \
		mkdir -p "$$(dirname "$$target")" && cp "build/npm/$$package/package/$$file" "$$target"; \
	done

bench-ingest: $(VENV)/.installed
	$(BIN)/python bench/ingest.py --n 1000

bench-search: $(VENV)/.installed
	$(BIN)/python bench/search.py --n 10000

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
