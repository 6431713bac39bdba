# oauth_test: tokend's OAuth state machine, driven over a real imsg
# channel against a scratch database.  The test program carries its own
# stand-in for the Forgejo client of tokend/forgejo.c.

OAUTH_TEST_OBJS = $(OBJ)/tokend/oauth.o $(OBJ)/tokend/db.o \
		$(OBJ)/migrations.o $(OBJ)/shared/log.o $(OBJ)/shared/util.o \
		$(OBJ)/shared/imsg.o $(OBJ)/shared/proc.o

UNIT_PROGS +=	$(OBJ)/regress/oauth_test

$(OBJ)/regress/oauth_test: regress/unit/oauth_test.c regress/unit/regress.h \
		$(OAUTH_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ regress/unit/oauth_test.c \
	    $(OAUTH_TEST_OBJS) $(LDLIBS)
