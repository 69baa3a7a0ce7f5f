/** The typed, validated view of imgcache's HOCON configuration; bad values fail at start naming their key. */
package io.imgcache.config;
