# shared/imsg.c: framing, fd passing, limits, hostile peers.

UNIT_PROGS +=	$(OBJ)/regress/imsg_test

$(OBJ)/regress/imsg_test: regress/unit/imsg_test.c regress/unit/regress.h \
    $(OBJ)/shared/imsg.o $(OBJ)/shared/log.o
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ \
	    regress/unit/imsg_test.c $(OBJ)/shared/imsg.o $(OBJ)/shared/log.o \
	    $(LDLIBS)
