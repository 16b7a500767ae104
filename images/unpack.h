/* The unpacked-layer cache: <root>/layers/<diff_id hex>/, one directory per
 * layer, extracted once and shared read-only (as overlay lowerdirs) by every
 * container of every image that has the layer.
 *
 * Contract:
 *  - A layer directory appears only complete: extraction goes to a temp dir
 *    (.tmp-<hex>-<pid>) renamed into place after the blob digest and the
 *    diff_id both verified (streaming) and the data was synced (an fsync of
 *    each file and directory for a small layer of only those, else syncfs).
 *  - Concurrent unpacks of one layer take a per-layer lock: one extracts, the
 *    others wait and find it done.  Leftover temp dirs are removed.  The lock
 *    file (layers/.lock-<hex>) exists only while held, so a refused layer
 *    (hostile entry, bad digest) leaves layers/ as it was.
 *  - OCI whiteouts become overlay whiteouts: ".wh.x" -> char device 0/0 "x",
 *    ".wh..wh..opq" -> xattr trusted.overlay.opaque=y on the directory.
 *  - Hostile entries are refused with their name: absolute paths, "..",
 *    anything whose parent path crosses a symlink (nothing is ever written
 *    through a link), hardlinks to targets outside the layer or missing,
 *    and device nodes (a layer's device could reach host hardware, and a 0/0
 *    char device would act as a whiteout). */
#ifndef IMG_UNPACK_H
#define IMG_UNPACK_H

#include "common/err.h"
#include "images/image.h"
#include "images/store.h"

/* Ensure layers/<hex of l->diff_id> exists; *did_work tells whether this
 * call extracted it (NULL allowed). */
int img_layer_unpack(img_store *s, const img_layer_desc *l, bool *did_work, nr_err *err);
/* All layers of an image. */
int img_image_unpack(img_store *s, const img_image *img, size_t *n_extracted, nr_err *err);

#endif
