# oauth_front_test: the pure helpers of the http process's OAuth front
# (brokerd/oauth_util.c) and hmac_sha256() of shared/util.c.

OAUTH_FRONT_TEST_OBJS =	$(OBJ)/brokerd/oauth_util.o \
			$(OBJ)/brokerd/http_parse.o $(OBJ)/shared/util.o

UNIT_PROGS +=	$(OBJ)/regress/oauth_front_test

$(OBJ)/regress/oauth_front_test: regress/unit/oauth_front_test.c \
    regress/unit/regress.h $(OAUTH_FRONT_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/oauth_front_test.c $(OAUTH_FRONT_TEST_OBJS) $(LDLIBS)
