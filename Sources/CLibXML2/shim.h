/* Debian's libxml2 is built with ICU; hiding that avoids a UErrorCode clash with Foundation. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
