# The HTTP request parser: pure libc, so the test links its object alone.

UNIT_PROGS +=	$(OBJ)/regress/http_parse_test

$(OBJ)/regress/http_parse_test: regress/unit/http_parse_test.c \
    regress/unit/regress.h brokerd/http.h $(OBJ)/brokerd/http_parse.o
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/http_parse_test.c $(OBJ)/brokerd/http_parse.o $(LDLIBS)
