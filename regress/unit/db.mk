# db_test: tokend's database layer, its migrations and the schema they
# create, in a scratch directory.

DB_TEST_OBJS =	$(OBJ)/tokend/db.o $(OBJ)/migrations.o $(OBJ)/shared/log.o

UNIT_PROGS +=	$(OBJ)/regress/db_test

$(OBJ)/regress/db_test: regress/unit/db_test.c regress/unit/regress.h \
		$(DB_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ regress/unit/db_test.c \
	    $(DB_TEST_OBJS) $(LDLIBS)
