# The two commands of the README: `make run` and `make test`. Both install the
# Debian packages rt needs (once), configure and build. `make fuzz` runs the
# libFuzzer targets of tests/fuzz (clang, ASan+UBSan) for FUZZ_SECONDS each.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)
FUZZ_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CXX ?= clang++-14

PACKAGE_DIR ?= build-package

.PHONY: all deps configure build test run fuzz netfault chaos package format clean

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# `make run` builds only rtctl, quietly: one line per step, the tools' output in
# $(RUN_LOG) (its last lines are shown when a step fails), so that what one sees is
# the cluster's banner.
RUN_LOG = $(BUILD_DIR)/make-run.log
run: deps
	@mkdir -p $(BUILD_DIR)
	@echo "make run: [1/3] configuring $(BUILD_DIR) ($(BUILD_TYPE))"
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS) >$(RUN_LOG) 2>&1 \
	  || { tail -n 30 $(RUN_LOG) >&2; echo "make run: configure failed; full output in $(RUN_LOG)" >&2; exit 1; }
	@echo "make run: [2/3] building rtctl with $(JOBS) jobs (minutes the first time; output in $(RUN_LOG))"
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target rtctl >>$(RUN_LOG) 2>&1 \
	  || { tail -n 30 $(RUN_LOG) >&2; echo "make run: build failed; full output in $(RUN_LOG)" >&2; exit 1; }
	@echo "make run: [3/3] starting the local cluster"
	@./examples/run-local-cluster.sh $(BUILD_DIR)/cli/rtctl

# Builds only the fuzz targets and the libraries they link, in their own build dir,
# then runs each; fails on a crash, leak, timeout or out-of-memory and prints the
# reproducer (tests/fuzz/README.md). -O1 with line tables only (enough for the
# sanitizers' stack traces) keeps CI's cold build short; asserts stay on (no NDEBUG).
fuzz: deps
	@cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
	  -DRT_FUZZ=ON -DRT_SANITIZE=address,undefined -DRT_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target rt_fuzz_targets
	@./tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS)

# The replica-set chaos test (tests/chaos/README.md) for 5 minutes of faults; ctest
# runs it for 20 s. RT_CHAOS_SEED=N repeats a run's faults.
chaos: build
	@RT_CHAOS_SECONDS=$${RT_CHAOS_SECONDS:-300} $(BUILD_DIR)/tests/rt_chaos_tests

# Network faults (tests/netfault/README.md): every scenario at full length (under a
# minute each) in a private network namespace. Needs root; exits 77 with the reason
# where the machine cannot make the namespace. ctest runs the short form.
netfault: build
	@$(BUILD_DIR)/tests/netfault/rt_netfault

# The Debian package rt_<version>_amd64.deb (cmake/package.cmake), from a Release build
# of rtctl alone (no tests) in its own build dir; the .deb lands in $(PACKAGE_DIR).
package: deps
	@cmake -S . -B $(PACKAGE_DIR) -DCMAKE_BUILD_TYPE=Release -DRT_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(PACKAGE_DIR) -j $(JOBS) --target rtctl rt_package_files
	@cd $(PACKAGE_DIR) && cpack -G DEB >/dev/null
	@ls $(PACKAGE_DIR)/rt_*_amd64.deb

format:
	@git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR) $(PACKAGE_DIR)
