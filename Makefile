# Thin wrapper around CMake/CTest and the scripts in scripts/.
#   make deps        install missing Debian packages, npm ci for the integration tests
#   make build       Debug build in build/
#   make build-asan  the same with ASan+UBSan in build-asan/
#   make check       deps, clang-format and cppcheck, both builds, ctest in both trees (CI)
#   make run         build, then scripts/dev-run.sh: PostgreSQL, smtp-sink and sesd in var/
#   make clean       remove the build trees build/ and build-*/ (var/ is kept)
CMAKE ?= cmake
CTEST ?= ctest
JOBS ?= 2
CTEST_FLAGS ?= --output-on-failure

FORMAT_FILES = $(wildcard daemon/*.c daemon/*.h tests/unit/*.c tests/bench/*.c tests/tools/*.c)

.PHONY: all deps build build-asan format-check lint check test run clean

all: build

deps:
	scripts/deps.sh

build:
	$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=Debug
	$(CMAKE) --build build -j$(JOBS)

build-asan:
	$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSESD_SANITIZE=address,undefined
	$(CMAKE) --build build-asan -j$(JOBS)

format-check:
	@echo "clang-format --dry-run --Werror on $(words $(FORMAT_FILES)) files"
	@if [ -n "$(FORMAT_FILES)" ]; then clang-format --dry-run --Werror $(FORMAT_FILES) || \
		{ echo "format-check failed: fix with clang-format -i $(FORMAT_FILES)" >&2; exit 1; }; fi

# cppcheck over the daemon (STYLE.md 13); warnings fail the check. A finding is fixed,
# or suppressed inline with a comment saying why.
lint:
	cppcheck --enable=warning,performance,portability --inline-suppr -q --error-exitcode=1 \
		-D_GNU_SOURCE -DSESD_ASSERT_ON -I daemon --suppress=missingIncludeSystem daemon/*.c

# Order matters (deps first, format before the slow builds): run the steps in sequence even
# under make -j.
check:
	$(MAKE) --no-print-directory deps
	$(MAKE) --no-print-directory format-check
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory build
	$(MAKE) --no-print-directory build-asan
	$(CTEST) --test-dir build $(CTEST_FLAGS)
	$(CTEST) --test-dir build-asan $(CTEST_FLAGS)

test: build
	$(CTEST) --test-dir build $(CTEST_FLAGS)

run:
	$(MAKE) --no-print-directory deps
	$(MAKE) --no-print-directory build
	exec scripts/dev-run.sh

clean:
	rm -rf build build-*/
