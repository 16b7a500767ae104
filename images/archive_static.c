/* libarchive is linked statically (see the Makefile: its shared library
 * loads libxml2, ICU and libstdc++, 1.3 ms at the start of every command).
 * The pax writer calls one internal helper that lives in the object file
 * holding libarchive's table of every write format, xar's included, whose
 * libxml2 references would come back with it.  Defining the helper here
 * keeps that table out of the link.  Same contract as libarchive's: report
 * on `a` that `format` cannot store the entry's file type. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>

void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry, const char *format);

void __archive_write_entry_filetype_unsupported(struct archive *a, struct archive_entry *entry, const char *format)
{
    const char *path = archive_entry_pathname(entry);
    archive_set_error(a, EINVAL, "%s: %s format cannot archive this file type (mode %o)",
                      path ? path : "?", format ? format : "this", (unsigned)archive_entry_filetype(entry));
}
