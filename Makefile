# forgejo-mcp-broker: brokerd, tokend and spawnd.
#
#   make                  build into $(OBJ)
#   make install          install under $(DESTDIR)$(PREFIX)
#   make test             install missing build dependencies, build, run regress
#   make test SANITIZE=1  the same suite under AddressSanitizer and UBSan
#   make demo             the whole OAuth flow and a tool call, on loopback
#   make bench            what the MCP relay costs (bench/README.md)
#
# GNU make.  The objects of each variant live in their own directory, so
# a sanitizer build never mixes with a plain one.

OS !=		uname -s
SANITIZE ?=	0
ifeq ($(SANITIZE),1)
OBJ ?=		obj-san
else
OBJ ?=		obj
endif

PREFIX ?=	/usr/local
SBINDIR ?=	$(PREFIX)/sbin
LIBEXECDIR ?=	$(PREFIX)/libexec/brokerd
ifeq ($(OS),OpenBSD)
MANDIR ?=	$(PREFIX)/man
YACC ?=		yacc
else
MANDIR ?=	$(PREFIX)/share/man
YACC =		byacc
endif
INSTALL ?=	install

CC ?=		cc
PKGS =		libtls libevent jansson sqlite3
ifneq ($(OS),OpenBSD)
PKGS +=		libbsd-overlay libbsd-ctor libmd
endif
PKG_CFLAGS !=	pkg-config --cflags $(PKGS) 2>/dev/null
PKG_LIBS !=	pkg-config --libs $(PKGS) 2>/dev/null
ifeq ($(OS),OpenBSD)
PKG_LIBS +=	-lutil
endif

WARNINGS =	-Wall -Wextra -Werror -Wstrict-prototypes \
		-Wmissing-prototypes -Wmissing-declarations -Wshadow \
		-Wpointer-arith -Wcast-qual -Wsign-compare \
		-Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?=	-O2 -g
CFLAGS +=	$(WARNINGS)
CPPFLAGS +=	-D_GNU_SOURCE -Ishared -Ibrokerd -Itokend -Ispawnd -I$(OBJ) \
		-DLIBEXECDIR=\"$(LIBEXECDIR)\" $(PKG_CFLAGS)
LDLIBS +=	$(PKG_LIBS)
ifeq ($(SANITIZE),1)
CFLAGS +=	-fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=undefined
LDFLAGS +=	-fsanitize=address,undefined
CPPFLAGS +=	-DBROKERD_SANITIZE
endif

ifeq ($(OS),OpenBSD)
SANDBOX =	shared/sandbox_openbsd.c
else ifeq ($(OS),Linux)
SANDBOX =	shared/sandbox_linux.c
else
SANDBOX =	shared/sandbox_none.c
endif

SHARED_SRCS =	shared/log.c shared/imsg.c shared/proc.c shared/util.c \
		$(SANDBOX)
BROKERD_SRCS =	$(OBJ)/parse.c brokerd/brokerd.c brokerd/config.c \
		brokerd/consent.c brokerd/http.c brokerd/http_parse.c \
		brokerd/mcp.c brokerd/oauth.c brokerd/oauth_util.c \
		brokerd/server.c
TOKEND_SRCS =	tokend/tokend.c tokend/db.c tokend/forgejo.c \
		tokend/oauth.c tokend/session.c tokend/lifecycle.c \
		$(OBJ)/migrations.c
SPAWND_SRCS =	spawnd/spawnd.c spawnd/child.c

objs =		$(patsubst %.c,$(OBJ)/%.o,$(patsubst $(OBJ)/%,%,$(1)))
SHARED_OBJS =	$(call objs,$(SHARED_SRCS))
BROKERD_OBJS =	$(call objs,$(BROKERD_SRCS))
TOKEND_OBJS =	$(call objs,$(TOKEND_SRCS))
SPAWND_OBJS =	$(call objs,$(SPAWND_SRCS))

PROGS =		$(OBJ)/bin/brokerd $(OBJ)/bin/tokend $(OBJ)/bin/spawnd
MANS =		brokerd.8 brokerd.conf.5
MIGRATIONS !=	ls migrations/[0-9][0-9][0-9][0-9]_*.sql

all: $(PROGS)

$(OBJ)/bin/brokerd: $(BROKERD_OBJS) $(SHARED_OBJS)
	@mkdir -p $(OBJ)/bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OBJ)/bin/tokend: $(TOKEND_OBJS) $(SHARED_OBJS)
	@mkdir -p $(OBJ)/bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OBJ)/bin/spawnd: $(SPAWND_OBJS) $(SHARED_OBJS)
	@mkdir -p $(OBJ)/bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(OBJ)/%.o: %.c shared/*.h brokerd/*.h tokend/*.h spawnd/*.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(OBJ)/%.o: $(OBJ)/%.c shared/*.h brokerd/*.h tokend/*.h spawnd/*.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(OBJ)/parse.c: brokerd/parse.y
	@mkdir -p $(OBJ)
	$(YACC) -o $@ brokerd/parse.y

# The jailed tokend never reads the migrations directory: the SQL is
# compiled into its image.
$(OBJ)/migrations.c: tokend/mkmigrations.sh $(MIGRATIONS)
	@mkdir -p $(OBJ)
	sh tokend/mkmigrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

install: all
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 555 $(OBJ)/bin/brokerd $(DESTDIR)$(SBINDIR)/brokerd
	$(INSTALL) -m 555 $(OBJ)/bin/tokend $(DESTDIR)$(LIBEXECDIR)/tokend
	$(INSTALL) -m 555 $(OBJ)/bin/spawnd $(DESTDIR)$(LIBEXECDIR)/spawnd
	$(INSTALL) -m 444 brokerd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	$(INSTALL) -m 444 brokerd.8 $(DESTDIR)$(MANDIR)/man8/

lint:
	mandoc -Tlint -Wwarning $(MANS)

# regress builds its own tree, installed under regress/obj, so that the
# daemon finds its helpers where a real installation puts them.
REGRESS_OBJ =	$(CURDIR)/regress/obj
ifeq ($(SANITIZE),1)
REGRESS_ROOT =	$(REGRESS_OBJ)/root-san
else
REGRESS_ROOT =	$(REGRESS_OBJ)/root
endif

test:
	@sh regress/deps.sh
	@$(MAKE) --no-print-directory install PREFIX=$(REGRESS_ROOT) \
	    OBJ=$(REGRESS_ROOT)/build DESTDIR= >$(REGRESS_OBJ).build.log 2>&1 || \
	    { cat $(REGRESS_OBJ).build.log; exit 1; }
	@$(MAKE) --no-print-directory -s regress-units \
	    OBJ=$(REGRESS_ROOT)/build
	@sh regress/run $(REGRESS_ROOT) $(REGRESS_ROOT)/build

demo:
	@sh regress/deps.sh
	@$(MAKE) --no-print-directory install PREFIX=$(REGRESS_OBJ)/demo \
	    OBJ=$(REGRESS_OBJ)/demo/build DESTDIR= >/dev/null
	@sh regress/demo.sh $(REGRESS_OBJ)/demo

bench:
	@sh regress/deps.sh
	@$(MAKE) --no-print-directory install PREFIX=$(REGRESS_OBJ)/bench \
	    OBJ=$(REGRESS_OBJ)/bench/build DESTDIR= >/dev/null
	@sh bench/run.sh $(REGRESS_OBJ)/bench

include regress/unit/Makefile.inc

clean:
	rm -rf obj obj-san regress/obj

.PHONY: all install lint test demo bench clean regress-units
