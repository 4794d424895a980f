#include <stdio.h>
int main(int argc, char **argv) { FILE *f = fopen(argv[1], "w"); fprintf(f, "/* placeholder */\n"); return fclose(f) != 0; }
