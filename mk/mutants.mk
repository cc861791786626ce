# make check-mutants: mutants of the library (tests/mutants/mutants.txt),
# each with one mechanism removed or weakened, run against the tests that
# must catch them (tests/mutants/run.sh). MUTANTS="a b" runs only those.

.PHONY: check-mutants
check-mutants: all
	sh tests/lib/private-shm.sh env BUILD=$(BUILD) CC="$(CC)" ARCH=$(ARCH) \
		VERSION=$(VERSION) SONAME=$(LIB_SONAME) \
		MUT_CPPFLAGS="$(filter-out -Isrc -DMEMBARRIER_VERSION=%,$(MB_CPPFLAGS))" \
		MUT_CFLAGS="$(filter-out -MMD -MP -Werror,$(MB_CFLAGS))" \
		MUT_LDFLAGS="$(MB_LDFLAGS)" MUT_LDLIBS="$(MB_LDLIBS)" \
		MUTANTS="$(MUTANTS)" sh tests/mutants/run.sh
