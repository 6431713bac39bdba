# parse_test: parse_config() on configuration files written at run time
# into a temporary directory, including every error it must report.

UNIT_PROGS +=	$(OBJ)/regress/parse_test

PARSE_TEST_OBJS =	$(OBJ)/parse.o $(OBJ)/shared/log.o

$(OBJ)/regress/parse_test: regress/unit/parse_test.c regress/unit/regress.h \
    $(PARSE_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/parse_test.c $(PARSE_TEST_OBJS) $(LDLIBS)
