# The library (src/ but src/preload/) and the preload shim (src/preload/).
# The library is never unloaded (-z nodelete): dlclose() must not unmap
# code that a thread-exit destructor or a queued signal still reaches.

LIB_SONAME := libmembarrier.so.$(SOVERSION)
LIB_SO     := $(BUILD)/lib/libmembarrier.so
LIB_A      := $(BUILD)/lib/libmembarrier.a
PRELOAD    := $(BUILD)/lib/libmembarrier-preload.so

LIB_SRCS := $(sort $(filter-out src/preload/%,$(shell find src -name '*.c')))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)

.PHONY: lib
lib: $(LIB_SO) $(LIB_A) $(PRELOAD)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(MB_CPPFLAGS) $(MB_CFLAGS) -c -o $@ $<

$(LIB_SO).$(VERSION): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(LIB_SONAME) -Wl,-z,defs -Wl,-z,nodelete \
		$(MB_LDFLAGS) \
		-o $@ $^ $(MB_LDLIBS)

$(LIB_SO): $(LIB_SO).$(VERSION)
	$(Q)ln -sf libmembarrier.so.$(VERSION) $(BUILD)/lib/$(LIB_SONAME)
	$(Q)ln -sf $(LIB_SONAME) $@

$(LIB_A): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(Q)rm -f $@
	$(call msg,AR,$@)
	$(Q)$(AR) rcs $@ $^

# The shim links the library and finds it beside itself.
$(PRELOAD): $(BUILD)/obj/src/preload/preload.o $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared $(MB_LDFLAGS) -Wl,-rpath,'$$ORIGIN' -o $@ $< \
		-L$(BUILD)/lib -lmembarrier -ldl
