/*
 * The SQLite ceiling for order intake: the same rows as one OrderFlow order, written with
 * prepared statements in a plain C loop, no server, no HTTP, no JSON.
 *
 * It copies a real order's rows from an OrderFlow database (orders, order_lines,
 * order_status_history, outbox, jobs: every column but the auto-increment key) and inserts them
 * again N times under new order IDs, event IDs and dedupe keys, with the pragmas OrderFlow uses
 * (WAL, the given synchronous level, foreign keys on), BATCH orders per transaction.
 *
 *   cc -O2 -o sqlite_ceiling sqlite_ceiling.c -lsqlite3
 *   sqlite_ceiling DB TEMPLATE_ORDER_ID COUNT BATCH full|normal
 *
 * Prints one line: orders/s, and rows written.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_COLUMNS 64
#define MAX_ROWS 32

static const char *tables[] = {"orders", "order_lines", "order_status_history", "outbox", "jobs"};
#define TABLE_COUNT 5

struct table {
    const char *name;
    int columns;
    char *column[MAX_COLUMNS];
    int rows;
    sqlite3_value *value[MAX_ROWS][MAX_COLUMNS];
    sqlite3_stmt *insert;
};

static void check(sqlite3 *db, int rc, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql) {
    char *error = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &error) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, error);
        exit(1);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Reads a table's columns (all but an INTEGER PRIMARY KEY) and the template order's rows. */
static void load(sqlite3 *db, struct table *t, const char *template_id) {
    char sql[4096];
    sqlite3_stmt *info;
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", t->name);
    check(db, sqlite3_prepare_v2(db, sql, -1, &info, NULL), sql);
    while (sqlite3_step(info) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(info, 1);
        const char *type = (const char *)sqlite3_column_text(info, 2);
        int pk = sqlite3_column_int(info, 5);
        if (pk == 1 && strcasecmp(type, "INTEGER") == 0) continue;
        t->column[t->columns++] = strdup(name);
    }
    sqlite3_finalize(info);

    size_t at = 0;
    at += snprintf(sql + at, sizeof sql - at, "SELECT ");
    for (int c = 0; c < t->columns; c++) at += snprintf(sql + at, sizeof sql - at, "%s%s", c ? ", " : "", t->column[c]);
    snprintf(sql + at, sizeof sql - at, " FROM %s WHERE order_id = ?", t->name);
    sqlite3_stmt *select;
    check(db, sqlite3_prepare_v2(db, sql, -1, &select, NULL), sql);
    sqlite3_bind_text(select, 1, template_id, -1, SQLITE_STATIC);
    while (sqlite3_step(select) == SQLITE_ROW && t->rows < MAX_ROWS) {
        for (int c = 0; c < t->columns; c++) t->value[t->rows][c] = sqlite3_value_dup(sqlite3_column_value(select, c));
        t->rows++;
    }
    sqlite3_finalize(select);

    at = 0;
    at += snprintf(sql + at, sizeof sql - at, "INSERT INTO %s (", t->name);
    for (int c = 0; c < t->columns; c++) at += snprintf(sql + at, sizeof sql - at, "%s%s", c ? ", " : "", t->column[c]);
    at += snprintf(sql + at, sizeof sql - at, ") VALUES (");
    for (int c = 0; c < t->columns; c++) at += snprintf(sql + at, sizeof sql - at, "%s?", c ? ", " : "");
    snprintf(sql + at, sizeof sql - at, ")");
    check(db, sqlite3_prepare_v2(db, sql, -1, &t->insert, NULL), sql);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s DB TEMPLATE_ORDER_ID COUNT BATCH full|normal\n", argv[0]);
        return 2;
    }
    const char *path = argv[1], *template_id = argv[2], *sync = argv[5];
    long count = atol(argv[3]), batch = atol(argv[4]);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    char pragma[128];
    exec(db, "PRAGMA busy_timeout = 10000");
    exec(db, "PRAGMA journal_mode = WAL");
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s", sync);
    exec(db, pragma);
    exec(db, "PRAGMA foreign_keys = ON");

    struct table t[TABLE_COUNT];
    memset(t, 0, sizeof t);
    long rows_per_order = 0;
    for (int i = 0; i < TABLE_COUNT; i++) {
        t[i].name = tables[i];
        load(db, &t[i], template_id);
        rows_per_order += t[i].rows;
    }
    if (t[0].rows != 1) {
        fprintf(stderr, "no order %s in %s\n", template_id, path);
        return 1;
    }

    char order_id[64], text[256];
    double start = now();
    for (long n = 0; n < count; n++) {
        if (n % batch == 0) exec(db, "BEGIN IMMEDIATE");
        snprintf(order_id, sizeof order_id, "CEIL-%ld-%ld", (long)start, n);
        for (int i = 0; i < TABLE_COUNT; i++) {
            for (int r = 0; r < t[i].rows; r++) {
                sqlite3_stmt *s = t[i].insert;
                for (int c = 0; c < t[i].columns; c++) {
                    const char *column = t[i].column[c];
                    sqlite3_value *v = t[i].value[r][c];
                    if (strcmp(column, "order_id") == 0) {
                        sqlite3_bind_text(s, c + 1, order_id, -1, SQLITE_TRANSIENT);
                    } else if ((strcmp(column, "event_id") == 0 || strcmp(column, "dedupe_key") == 0) && sqlite3_value_type(v) != SQLITE_NULL) {
                        snprintf(text, sizeof text, "%s/%s", order_id, (const char *)sqlite3_value_text(v));
                        sqlite3_bind_text(s, c + 1, text, -1, SQLITE_TRANSIENT);
                    } else {
                        sqlite3_bind_value(s, c + 1, v);
                    }
                }
                check(db, sqlite3_step(s), t[i].name);
                sqlite3_reset(s);
            }
        }
        if ((n + 1) % batch == 0 || n + 1 == count) exec(db, "COMMIT");
    }
    double seconds = now() - start;
    printf("{\"orders\": %ld, \"batch\": %ld, \"synchronous\": \"%s\", \"seconds\": %.3f, \"orders_per_second\": %.1f, \"rows_per_order\": %ld}\n",
           count, batch, sync, seconds, count / seconds, rows_per_order);
    return 0;
}
