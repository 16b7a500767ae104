/* Probe for nrun diff: below DIR ($1), a chain of DEPTH ($2) directories
 * whose names are 250 bytes, then FILES ($3) empty files in the deepest one,
 * made through directory fds (a path that long cannot be named whole).
 * Prints "made" when done. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    int depth = atoi(argv[2]), files = atoi(argv[3]);
    char name[251];
    memset(name, 'd', 250);
    name[250] = 0;
    mkdir(argv[1], 0755);
    int fd = open(argv[1], O_RDONLY | O_DIRECTORY);
    for (int i = 0; fd >= 0 && i < depth; i++) {
        if (mkdirat(fd, name, 0755) < 0)
            return 1;
        int sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = sub;
    }
    if (fd < 0)
        return 1;
    char f[32];
    for (int i = 0; i < files; i++) {
        snprintf(f, sizeof f, "f%d", i);
        int x = openat(fd, f, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (x < 0)
            return 1;
        close(x);
    }
    puts("made");
    return 0;
}
