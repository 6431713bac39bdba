# sandbox_test: each role's sandbox applied in a child, what it may and
# may not do checked from outside.

SANDBOX_TEST_OBJS =	$(patsubst %.c,$(OBJ)/%.o,$(SANDBOX)) \
			$(OBJ)/shared/log.o

UNIT_PROGS +=	$(OBJ)/regress/sandbox_test

$(OBJ)/regress/sandbox_test: regress/unit/sandbox_test.c \
    regress/unit/regress.h shared/sandbox.h $(SANDBOX_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/sandbox_test.c $(SANDBOX_TEST_OBJS) $(LDLIBS)
