# spawnd_lifecycle_test: spawnd's children through a token's life
# (crash-loop backoff, replacement, retirement, revocation), real
# /bin/sh children, http and the parent as the far ends of socketpairs.

SPAWND_LIFECYCLE_TEST_OBJS = $(OBJ)/spawnd/child.o $(OBJ)/shared/log.o \
		$(OBJ)/shared/imsg.o $(OBJ)/shared/proc.o

UNIT_PROGS +=	$(OBJ)/regress/spawnd_lifecycle_test

$(OBJ)/regress/spawnd_lifecycle_test: regress/unit/spawnd_lifecycle_test.c \
		regress/unit/regress.h $(SPAWND_LIFECYCLE_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/spawnd_lifecycle_test.c \
	    $(SPAWND_LIFECYCLE_TEST_OBJS) $(LDLIBS)
