/* game-ai — a C host that runs a Lua AI script per player each turn, in a
 * fresh box with half a second and 64 MiB. The script sees the board only
 * through two host functions:
 *
 *     units()            -> [{id, x, y, mine, goal_y}, ...]
 *     move(id, x, y)     -> true, or an error (not yours, too far, ...)
 *
 * Each unit moves at most one square (any direction) per turn; a unit that
 * reaches its goal row scores and leaves the board. A script that loops
 * forever, allocates wildly or crashes loses its turn, and the game goes
 * on.
 *
 *     game-ai [--turns N] [--clients DIR] AI1.lua AI2.lua */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward.h>

#define SIZE 5
#define UNITS 3

struct unit {
	int id, owner, x, y;
	bool alive, moved;
};

struct game {
	struct unit u[2 * UNITS];
	int player; /* whose turn: 1 or 2 */
	int score[3];
	int moves;
};

static int goal_row(int player)
{
	return player == 1 ? SIZE - 1 : 0;
}

static int fn_units(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	struct game *g = ud;
	json_t *list = json_array();
	for (int i = 0; list && i < 2 * UNITS; i++) {
		const struct unit *u = &g->u[i];
		if (u->alive)
			json_array_append_new(list, json_pack("{s:i,s:i,s:i,s:b,s:i}", "id", u->id, "x", u->x,
							      "y", u->y, "mine", u->owner == g->player,
							      "goal_y", goal_row(u->owner)));
	}
	*ret = list;
	return list ? 0 : -ENOMEM;
}

static int fn_move(ward_call *call, json_t *args, json_t **ret, void *ud)
{
	struct game *g = ud;
	json_int_t id, x, y;
	if (json_unpack(args, "[III]", &id, &x, &y) < 0)
		return ward_call_fail(call, "move expects (id, x, y), three integers");
	struct unit *u = NULL;
	for (int i = 0; i < 2 * UNITS; i++)
		if (g->u[i].alive && g->u[i].id == id)
			u = &g->u[i];
	if (!u || u->owner != g->player)
		return ward_call_fail(call, "unit %lld is not yours", (long long)id);
	if (u->moved)
		return ward_call_fail(call, "unit %lld already moved this turn", (long long)id);
	if (x < 0 || y < 0 || x >= SIZE || y >= SIZE)
		return ward_call_fail(call, "(%lld, %lld) is off the board", (long long)x, (long long)y);
	if (llabs(x - u->x) > 1 || llabs(y - u->y) > 1)
		return ward_call_fail(call, "(%lld, %lld) is more than one square away", (long long)x,
				      (long long)y);
	for (int i = 0; i < 2 * UNITS; i++)
		if (g->u[i].alive && &g->u[i] != u && g->u[i].x == x && g->u[i].y == y)
			return ward_call_fail(call, "(%lld, %lld) is occupied", (long long)x, (long long)y);
	u->x = (int)x;
	u->y = (int)y;
	u->moved = true;
	g->moves++;
	if (u->y == goal_row(u->owner)) {
		u->alive = false;
		g->score[u->owner]++;
	}
	*ret = json_true();
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"turns", required_argument, NULL, 't'},
		{"clients", required_argument, NULL, 'c'},
		{NULL, 0, NULL, 0},
	};
	struct game g = {.player = 1};
	const char *clients = NULL;
	int turns = 10, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't')
			turns = atoi(optarg);
		else if (c == 'c')
			clients = optarg;
		else
			return 2;
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: game-ai [--turns N] [--clients DIR] AI1.lua AI2.lua\n");
		return 2;
	}
	char *script[3] = {NULL, slurp(argv[optind]), slurp(argv[optind + 1])};
	if (!script[1] || !script[2]) {
		fprintf(stderr, "game-ai: cannot read the AI scripts\n");
		return 1;
	}
	for (int i = 0; i < UNITS; i++) {
		g.u[i] = (struct unit){.id = i + 1, .owner = 1, .x = i + 1, .y = 0, .alive = true};
		g.u[UNITS + i] = (struct unit){.id = 11 + i, .owner = 2, .x = i + 1, .y = SIZE - 1, .alive = true};
	}

	ward_policy *p;
	if (ward_policy_new(&p) < 0 || ward_policy_load_profile(p, "lua") < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_WALL_TIME, 500) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_MEMORY, 64u << 20) < 0 ||
	    ward_policy_set_limit(p, WARD_LIMIT_OUTPUT, 16u << 10) < 0 ||
	    ward_policy_add_function(p, "units", fn_units, &g) < 0 ||
	    ward_policy_add_function(p, "move", fn_move, &g) < 0 ||
	    (clients && ward_policy_set_client_dir(p, clients) < 0)) {
		fprintf(stderr, "game-ai: %s\n", ward_policy_error(p));
		return 1;
	}
	for (int t = 1; t <= turns; t++) {
		for (g.player = 1; g.player <= 2; g.player++) {
			for (int i = 0; i < 2 * UNITS; i++)
				g.u[i].moved = false;
			g.moves = 0;
			/* The script comes in on stdin: `lua5.4 -` runs it. */
			struct ward_options o = WARD_OPTIONS_INIT;
			o.stdin_data = script[g.player];
			o.stdin_len = strlen(script[g.player]);
			ward_result *r;
			if (ward_run(p, (char *[]){"lua5.4", "-", NULL}, &o, &r) < 0)
				return 1;
			enum ward_status st = ward_result_status(r);
			printf("turn %d: player %d ", t, g.player);
			if (st == WARD_STATUS_EXITED && ward_result_exit_code(r) == 0)
				printf("moved %d unit%s\n", g.moves, g.moves == 1 ? "" : "s");
			else if (st == WARD_STATUS_EXITED)
				printf("lost its turn (exit %d, %d moves kept)\n", ward_result_exit_code(r), g.moves);
			else if (st == WARD_STATUS_SETUP_ERROR) /* say the library's reason */
				printf("lost its turn (setup-error: %s, %d moves kept)\n", ward_result_message(r),
				       g.moves);
			else
				printf("lost its turn (%s, %d moves kept)\n", ward_status_name(st), g.moves);
			ward_result_free(r);
		}
	}
	printf("score: player 1: %d, player 2: %d\n", g.score[1], g.score[2]);
	ward_policy_free(p);
	free(script[1]);
	free(script[2]);
	return 0;
}
