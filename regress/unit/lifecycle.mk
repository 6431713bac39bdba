# lifecycle_test: tokend's refresh of the Forgejo tokens of grants in
# use, driven over real imsg channels against a scratch database, with
# its own stand-in for the Forgejo client of tokend/forgejo.c.

LIFECYCLE_TEST_OBJS = $(OBJ)/tokend/lifecycle.o $(OBJ)/tokend/session.o \
		$(OBJ)/tokend/oauth.o $(OBJ)/tokend/db.o $(OBJ)/migrations.o \
		$(OBJ)/shared/log.o $(OBJ)/shared/util.o $(OBJ)/shared/imsg.o \
		$(OBJ)/shared/proc.o

UNIT_PROGS +=	$(OBJ)/regress/lifecycle_test

$(OBJ)/regress/lifecycle_test: regress/unit/lifecycle_test.c \
		regress/unit/regress.h $(LIFECYCLE_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/lifecycle_test.c $(LIFECYCLE_TEST_OBJS) $(LDLIBS)
