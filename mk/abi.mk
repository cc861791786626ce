# The ABI: make check-abi compares the library's exported ABI with the
# baseline committed in abi/ and fails on any change but added symbols;
# make abi-baseline regenerates the baseline, the version script's list
# and the Debian symbols file after an intended change. Two corpora:
#   abi/libmembarrier.abi  the library: its symbols, their versions, the
#                          types they reach, the TLS variables
#   abi/types.abi          every type the public headers define (the
#                          inline fast paths make structure layouts ABI,
#                          named by an exported symbol or not)
# Types defined outside include/ are private (abi/suppressions). Needs
# Debian's abigail-tools and a library built with -g (the default CFLAGS).

ABI_DIR     := $(BUILD)/abi
ABI_TYPES_C := $(ABI_DIR)/types.c
ABI_TYPES   := $(ABI_DIR)/types.so
DEB_SYMBOLS := debian/libmembarrier0.symbols
# Stable output: no build path, types named by hash; the source locations
# tell abi/suppressions which types are public.
ABIDW_FLAGS  := --no-corpus-path --type-id-style hash --load-all-types
ABIDIFF_FLAGS := --no-added-syms --non-reachable-types --suppressions abi/suppressions

.PHONY: check-abi abi-baseline

# Every public header, once, and every type in it in the debugging
# information (arch/ headers come through membarrier/arch.h).
$(ABI_TYPES_C): $(wildcard include/*.h include/membarrier/*.h)
	@mkdir -p $(@D)
	$(Q){ for h in $(^:include/%=%); do echo "#include <$$h>"; done; \
		echo 'int membarrier_abi_types;'; } > $@

$(ABI_TYPES): $(ABI_TYPES_C)
	$(call msg,CC,$@)
	$(Q)$(CC) -D_GNU_SOURCE -Iinclude $(CPPFLAGS) -g -O0 \
		-fno-eliminate-unused-debug-types -shared -fPIC -o $@ $<

# abidw_to OUT-DIR: both corpora of this build into OUT-DIR
define abidw_to
	$(Q)readelf -S $(LIB_SO).$(VERSION) | grep -q '\.debug_info' || \
		{ echo "$(LIB_SO): no debugging information (build with -g)" >&2; exit 1; }
	$(call msg,ABIDW,$(1)/libmembarrier.abi)
	$(Q)abidw $(ABIDW_FLAGS) --out-file $(1)/libmembarrier.abi $(LIB_SO).$(VERSION)
	$(call msg,ABIDW,$(1)/types.abi)
	$(Q)abidw $(ABIDW_FLAGS) --out-file $(1)/types.abi $(ABI_TYPES)
endef

check-abi: $(LIB_SO) $(ABI_TYPES)
	$(call abidw_to,$(ABI_DIR))
	$(Q)status=0; for c in libmembarrier types; do \
		abidiff $(ABIDIFF_FLAGS) abi/$$c.abi $(ABI_DIR)/$$c.abi || status=1; \
	done; \
	if [ $$status -ne 0 ]; then \
		echo "check-abi: the ABI differs from abi/; if that is intended" \
			"(a new soname or version node), make abi-baseline" >&2; \
		exit 1; \
	fi
	@echo "check-abi: the ABI matches abi/"

abi-baseline: $(LIB_OBJS) $(ABI_TYPES)
	sh abi/exports.sh --map $(LIB_MAP) $(LIB_OBJS) > $(LIB_MAP).new
	if cmp -s $(LIB_MAP) $(LIB_MAP).new; then rm -f $(LIB_MAP).new; \
	else mv -f $(LIB_MAP).new $(LIB_MAP); fi
	$(MAKE) --no-print-directory $(LIB_SO)
	$(call abidw_to,abi)
	dpkg-gensymbols -q -plibmembarrier0 -v$(VERSION) \
		-e$(LIB_SO).$(VERSION) -I$(DEB_SYMBOLS) -O$(DEB_SYMBOLS)
