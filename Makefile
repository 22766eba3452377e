# femtojit: the README's two commands are `make demo` and `make test`.
# Both work as root on a fresh Debian machine; `make test` also installs the Debian packages
# the tests need (apt-get only when something is missing).

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
DEBIAN_PACKAGES := clang qemu-user binutils-arm-none-eabi gcc-arm-none-eabi \
	binutils-riscv64-unknown-elf gcc-riscv64-unknown-elf \
	binutils-xtensa-lx106 gcc-xtensa-lx106 gcc libc6-dev make
# one command per package, to tell what is missing without dpkg-query subtleties
DEBIAN_COMMANDS := clang qemu-xtensa arm-none-eabi-as arm-none-eabi-gcc \
	riscv64-unknown-elf-as riscv64-unknown-elf-gcc xtensa-lx106-elf-as xtensa-lx106-elf-gcc gcc

.PHONY: demo test lint bench bench-quick fuzz venv debian-packages clean help

help:
	@echo "make demo    set up .venv and run femtojit on the bundled example"
	@echo "make test    install what the tests need (Debian packages too) and run the suite"
	@echo "make bench   run the benchmark suite (after make test's set-up)"
	@echo "make fuzz    long differential fuzzing campaign (FUZZ_EXAMPLES=N)"
	@echo "make lint    ruff"

$(STAMP): pyproject.toml
	@if ! test -x $(VPY) && ! $(PYTHON) -m venv --help >/dev/null 2>&1; then \
		echo "installing python3-venv"; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
			--no-install-recommends python3 python3-venv python3-pip; \
	fi
	test -x $(VPY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q \
			--no-install-recommends python3-venv && $(PYTHON) -m venv $(VENV); }
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

debian-packages:
	@missing=""; for c in $(DEBIAN_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	[ -f /usr/include/stdio.h ] || missing="$$missing libc6-dev"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages (missing:$$missing)"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $(DEBIAN_PACKAGES); \
	fi

demo: $(STAMP)
	$(VENV)/bin/femtojit --version
	sh examples/demo.sh $(VENV)/bin/femtojit

lint: $(STAMP)
	$(VENV)/bin/ruff check femtojit tests bench

test: debian-packages $(STAMP)
	$(VENV)/bin/ruff check femtojit tests bench
	$(VPY) -m pytest -q -n 2 $(PYTEST_ARGS)

bench: debian-packages $(STAMP)
	$(VPY) -m bench.run
	$(VPY) -m bench.readme
	$(VPY) -m pytest -q -p no:cacheprovider bench/bench_interp.py bench/bench_translate.py \
		--benchmark-enable --benchmark-min-rounds=3 -s

bench-quick: debian-packages $(STAMP)
	$(VPY) -m bench.run --quick
	$(VPY) -m bench.readme

fuzz: debian-packages $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-5000} $(VPY) -m pytest -q -n 2 -m fuzz tests

clean:
	rm -rf $(VENV) bench/build .pytest_cache .ruff_cache .hypothesis
