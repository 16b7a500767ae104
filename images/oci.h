/* OCI layouts outside the store: export an image to a directory or a tar
 * archive of a layout (nbuild --output oci:DIR / oci-archive:FILE, nrun save),
 * and import from them (nrun load).  Every blob is verified while copied. */
#ifndef IMG_OCI_H
#define IMG_OCI_H

#include "common/err.h"
#include "images/image.h"
#include "images/store.h"

/* Export image `ref` into the OCI layout DIR (created if missing; an
 * existing layout is added to and an entry with the same ref.name replaced).
 * `tag` is written verbatim as org.opencontainers.image.ref.name (OCI
 * convention: just the tag, "1.2", so `skopeo inspect oci:DIR:1.2` and
 * `umoci unpack --image DIR:1.2` find it), or a full "name:tag" (what
 * `podman load` takes as the image name; skopeo then wants oci:DIR:name:tag).
 * NULL: the normalized "name:tag" of `ref` when it names a tag, else no
 * annotation.  A multi-platform image is exported whole: its index (the
 * entry) and every image it lists. */
int img_export_oci_dir(img_store *s, const char *ref, const char *dir, const char *tag, nr_err *err);
/* Same, as a tar archive of a layout, written atomically to FILE ("-":
 * standard output). */
int img_export_oci_archive(img_store *s, const char *ref, const char *file, const char *tag, nr_err *err);

/* Import every image manifest listed in the index.json of a layout DIR or an
 * archive FILE ("-": standard input); an entry that is an index (a
 * multi-platform image, as `skopeo copy --all` writes it) is kept whole
 * with every image it lists, and its tag names the index.  Names: a ref.name annotation that is
 * a full "name:tag" becomes that tag; `repo` (a repository) replaces its
 * name and keeps its tag; a ref.name that is only a tag ("1.2") needs `repo`
 * (error without); `repo` as "name:tag" forces that name for a single image.
 * Reports each loaded "name:tag" (or digest when untagged) through the
 * callback. */
typedef void (*img_import_cb)(const char *ref_name, const img_desc *manifest, void *arg);
int img_import_oci_dir(img_store *s, const char *dir, const char *repo, img_import_cb cb, void *arg, nr_err *err);
int img_import_oci_archive(img_store *s, const char *file, const char *repo, img_import_cb cb, void *arg, nr_err *err);

#endif
