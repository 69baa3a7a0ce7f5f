/** Shared-secret checks ({@code Authorization: Bearer}) for the peer protocol and the admin endpoints. */
package io.imgcache.auth;
