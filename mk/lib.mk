# The library (src/ but src/preload/) and the preload shim (src/preload/).
# The library is never unloaded (-z nodelete): dlclose() must not unmap
# code that a thread-exit destructor or a queued signal still reaches.

LIB_SONAME := libmembarrier.so.$(SOVERSION)
LIB_SO     := $(BUILD)/lib/libmembarrier.so
LIB_A      := $(BUILD)/lib/libmembarrier.a
LIB_MAP    := src/libmembarrier.map
# The shim where the build tree's tool finds it (../lib/libmembarrier/
# from its bin/, as in an installed tree), and linked again for make
# install without the RUNPATH that finds the build tree's library.
PRELOAD    := $(BUILD)/lib/libmembarrier/preload.so
PRELOAD_INSTALL := $(BUILD)/install/preload.so

LIB_SRCS := $(sort $(filter-out src/preload/%,$(shell find src -name '*.c')))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

.PHONY: lib
lib: $(LIB_SO) $(LIB_A) $(PRELOAD) $(PRELOAD_INSTALL)

# Every object embeds the version (MEMBARRIER_VERSION).
$(BUILD)/obj/%.o: %.c VERSION
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(MB_CPPFLAGS) $(MB_CFLAGS) -c -o $@ $<

# The version script exports exactly the symbols it lists, each with the
# version LIBMEMBARRIER_0.1; a symbol the objects make visible but the
# script does not list stops the link (make abi-baseline adds it).
$(LIB_SO).$(VERSION): $(LIB_OBJS) $(LIB_MAP) abi/exports.sh
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)sh abi/exports.sh --check $(LIB_MAP) $(LIB_OBJS)
	$(Q)$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,-z,defs -Wl,-z,nodelete \
		-Wl,--version-script,$(LIB_MAP) $(MB_LDFLAGS) \
		-o $@ $(LIB_OBJS) $(MB_LDLIBS)

$(LIB_SO): $(LIB_SO).$(VERSION)
	$(Q)ln -sf libmembarrier.so.$(VERSION) $(BUILD)/lib/$(LIB_SONAME)
	$(Q)ln -sf $(LIB_SONAME) $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

# The shim links the library and, in the build tree, finds it in ../:
# its DT_NEEDED is the path $ORIGIN/../libmembarrier.so.0 (the loader
# expands $ORIGIN, ld.so(8)), opened at once, where a RUNPATH would first
# be tried with each hardware-capability subdirectory (16 failed system
# calls at every start with glibc 2.36). ld takes DT_NEEDED from the
# SONAME, so the shim links against the same objects under that SONAME,
# without symbol versions (glibc checks a version against the needed
# object's unexpanded name, which a path does not match).
PRELOAD_LINK := $(BUILD)/obj/preload-link/libmembarrier.so
$(PRELOAD_LINK): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)$(CC) -shared -Wl,-soname,'$$ORIGIN/../$(LIB_SONAME)' \
		$(MB_LDFLAGS) -o $@ $(LIB_OBJS) $(MB_LDLIBS)

$(PRELOAD): $(BUILD)/obj/src/preload/preload.o $(PRELOAD_LINK) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared $(MB_LDFLAGS) -o $@ $< $(PRELOAD_LINK) -ldl

$(PRELOAD_INSTALL): $(BUILD)/obj/src/preload/preload.o $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared $(MB_LDFLAGS) -o $@ $< -L$(BUILD)/lib -lmembarrier -ldl
