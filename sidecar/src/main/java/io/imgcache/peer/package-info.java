/** The peer protocol (GET /_groupcache/&lt;group&gt;/&lt;base64url key&gt;): its client, its server handler, and the ring-based owner choice. */
package io.imgcache.peer;
