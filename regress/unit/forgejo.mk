# forgejo_test: tokend's client of Forgejo against the Forgejo test
# double (regress/forgejo-double.py, run with python3 from $TOP).

FORGEJO_TEST_OBJS = $(OBJ)/tokend/forgejo.o $(OBJ)/shared/log.o \
		$(OBJ)/shared/util.o

UNIT_PROGS +=	$(OBJ)/regress/forgejo_test

$(OBJ)/regress/forgejo_test: regress/unit/forgejo_test.c \
		regress/unit/regress.h $(FORGEJO_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/forgejo_test.c $(FORGEJO_TEST_OBJS) $(LDLIBS)
