# The membarrier tool (tools/ and bench/), and the liburcu helper of
# bench rcu.

TOOL      := $(BUILD)/bin/membarrier
TOOL_SRCS := $(wildcard tools/*.c) \
	$(filter-out bench/rcu_liburcu.c,$(wildcard bench/*.c))
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/obj/%.o)

$(TOOL_OBJS): MB_CPPFLAGS += -Itools -Ibench
# Where the installed tool finds the preload shim and the helper programs
# (the build tree's looks beside itself first).
$(BUILD)/obj/tools/run.o: MB_CPPFLAGS += \
	-DMEMBARRIER_PRELOAD='"$(PKGLIBDIR)/preload.so"'
$(BUILD)/obj/bench/rcu.o: MB_CPPFLAGS += \
	-DMEMBARRIER_LIBEXECDIR='"$(PKGLIBEXECDIR)"'
$(BUILD)/obj/tools/run.o $(BUILD)/obj/bench/rcu.o: $(DIRS_STAMP)

$(TOOL): $(TOOL_OBJS) $(LIB_SO)
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(MB_LDFLAGS) $(RPATH_BUILD) -o $@ $(TOOL_OBJS) \
		-L$(BUILD)/lib -lmembarrier $(MB_LDLIBS)

# liburcu (Debian's liburcu-dev), for the comparison rows of bench rcu.
# They run in a helper program: liburcu's constructors (a raw membarrier
# system call, a SIGUSR1 handler) must stay out of the tool.
# WITH_LIBURCU=auto builds it where liburcu is found, yes requires it.
WITH_LIBURCU ?= auto
URCU_LIBS  := -lurcu-memb -lurcu-mb -lurcu-signal -lurcu-qsbr -lurcu-common
URCU_HDRS  := $(foreach f,memb mb signal qsbr,-include urcu/urcu-$(f).h)
BENCH_URCU := $(BUILD)/libexec/membarrier/bench-rcu-liburcu
ifneq ($(WITH_LIBURCU),no)
HAVE_LIBURCU := $(shell echo 'int main(void) { return 0; }' | $(CC) -x c \
	$(URCU_HDRS) -o /dev/null - $(URCU_LIBS) -lpthread >/dev/null 2>&1 && echo 1)
ifeq ($(WITH_LIBURCU)$(HAVE_LIBURCU),yes)
$(error WITH_LIBURCU=yes but liburcu (liburcu-dev) is not usable by $(CC))
endif
endif
ifeq ($(HAVE_LIBURCU),1)
$(BUILD)/obj/bench/rcu.o: MB_CPPFLAGS += -DHAVE_LIBURCU
BENCH_AUX := $(BENCH_URCU)
endif

$(BENCH_URCU): $(BUILD)/obj/bench/rcu_liburcu.o $(BUILD)/obj/bench/rcu_run.o
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(MB_LDFLAGS) -o $@ $^ $(URCU_LIBS) $(MB_LDLIBS)

# bench startup: a program that does nothing, and the empty library
# preloaded into it as the baseline.
STARTUP_DIR := $(BUILD)/libexec/membarrier
STARTUP_AUX := $(STARTUP_DIR)/startup-main \
	$(STARTUP_DIR)/libmembarrier-startup-empty.so

$(STARTUP_DIR)/startup-main: bench/startup/main.c
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(STARTUP_DIR)/libmembarrier-startup-empty.so: bench/startup/empty.c
	@mkdir -p $(@D)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -shared $(LDFLAGS) -o $@ $<

.PHONY: tool
tool: $(TOOL) $(BENCH_AUX) $(STARTUP_AUX)

# Every benchmark; key=value lines, CSV and SVG plots under $(BUILD)/bench.
RCU_BENCH_SECONDS ?= 2
.PHONY: bench
bench: all
	TOOL=$(TOOL) OUT=$(BUILD)/bench RCU_BENCH_SECONDS=$(RCU_BENCH_SECONDS) \
		sh bench/plot.sh
