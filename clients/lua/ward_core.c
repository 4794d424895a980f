/* ward_core — the two calls Lua's standard library lacks for the
 * host-function channel: whole-buffer write and exact read on an fd (Lua's
 * io library can only open paths, and a socket has none). ward.lua does
 * the rest. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

/* write(fd, data) -> true | nil, message */
static int core_write(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	size_t n;
	const char *p = luaL_checklstring(L, 2, &n);
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			lua_pushnil(L);
			lua_pushstring(L, k < 0 ? strerror(errno) : "short write");
			return 2;
		}
		p += k;
		n -= (size_t)k;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* read(fd, n) -> exactly n bytes | nil, message */
static int core_read(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	lua_Integer want = luaL_checkinteger(L, 2);
	luaL_argcheck(L, want >= 0, 2, "negative length");
	luaL_Buffer b;
	size_t n = (size_t)want, got = 0;
	char *p = luaL_buffinitsize(L, &b, n);
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			lua_pushnil(L);
			lua_pushstring(L, k < 0 ? strerror(errno) : "the host closed the channel");
			return 2;
		}
		got += (size_t)k;
	}
	luaL_pushresultsize(&b, n);
	return 1;
}

__attribute__((visibility("default"))) int luaopen_ward_core(lua_State *L);
int luaopen_ward_core(lua_State *L)
{
	static const luaL_Reg fns[] = {{"write", core_write}, {"read", core_read}, {NULL, NULL}};
	luaL_newlib(L, fns);
	return 1;
}
